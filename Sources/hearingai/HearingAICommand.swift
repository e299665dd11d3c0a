import ArgumentParser
import HearingAI

/// `hearingai`: transcripts with speaker labels from audio files, offline.
@main
struct HearingAICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearingai",
        abstract: "Transcribe audio files offline, in chunks, within a memory limit.",
        version: HearingAIVersion.current,
        subcommands: [
            TranscribeCommand.self, WatchCommand.self, StatusCommand.self, JobsCommand.self, WebhooksCommand.self, CacheCommand.self,
        ],
        defaultSubcommand: TranscribeCommand.self
    )
}
