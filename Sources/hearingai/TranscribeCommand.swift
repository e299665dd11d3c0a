import ArgumentParser
import Configuration
import Foundation
import HearingAI
import Logging

/// `hearingai transcribe FILE…`: the default command.
///
/// Several files run through one orchestrator, so the engine (PocketSphinx's models) loads
/// once; each file gets its own outputs, a failure is one line naming its file and the others
/// still run, and the exit status is 1 if any failed.
struct TranscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract: "Transcribe audio and video files.",
        discussion: """
            Read natively (libsndfile): WAV, BWF, RF64, AIFF, FLAC, Ogg Vorbis, Opus, MP3.
            Read through FFmpeg (the ffmpeg package, run as a confined child process): M4A/AAC, MP4, \
            MOV, MKV, WebM, WMA, AMR and other containers with an audio stream; --audio-stream picks \
            one. Without ffmpeg those files fail with "install ffmpeg to read .m4a files".
            """
    )

    typealias Keys = PipelineConfiguration.Keys

    @Argument(help: "The audio files.")
    var files: [String] = []

    @Option(name: .shortAndLong, help: "Output file (one input), or a directory for the outputs (default: beside each input).")
    var output: String?

    @Option(name: .shortAndLong, help: "Output format: txt, json, srt, vtt, md (repeat or comma-separate for several).")
    var format: [String] = []

    @OptionGroup var pipeline: PipelineFlags

    @Option(name: .key(Keys.startTime), help: .key(Keys.startTime))
    var startTime: Double?

    @Option(name: .key(Keys.endTime), help: .key(Keys.endTime))
    var endTime: Double?

    @Option(name: .key(Keys.sampleDuration), help: .key(Keys.sampleDuration))
    var sampleDuration: Double?

    @Option(name: .customLong("cache-dir"), help: "Where chunk checkpoints live (default: $XDG_CACHE_HOME/hearingai).")
    var cacheDir: String?

    @Flag(name: .shortAndLong, help: "Log one line per chunk and the run's figures.")
    var verbose = false

    @Flag(name: .customLong("show-chunks"), help: "Print each chunk's range, words and decode time.")
    var showChunks = false

    @Option(name: .customLong("memory-trace"), help: "Write resident memory over time (TSV) to this file.")
    var memoryTrace: String?

    @Flag(name: .customLong("list-jobs"), help: "List interrupted runs that can be resumed, with their IDs.")
    var listJobs = false

    @Option(name: .customLong("resume"), help: "Resume the interrupted run JOB_ID (see --list-jobs).")
    var resume: String?

    @Flag(help: "Start from scratch: discard this file's checkpoints from an earlier run.")
    var force = false

    func validate() throws {
        if !listJobs, resume == nil, files.isEmpty {
            throw ValidationError("Missing the audio file.")
        }
        if files.count > 1, let output, !Self.namesDirectory(output) {
            throw ValidationError(
                "-o \(output) names one output file, but \(files.count) inputs were given; name a directory instead (-o DIR/).")
        }
    }

    /// Whether `-o` names a directory: a trailing slash, or one that exists.
    static func namesDirectory(_ output: String) -> Bool {
        var isDirectory: ObjCBool = false
        return output.hasSuffix("/") || (FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) && isDirectory.boolValue)
    }

    func run() async throws {
        bootstrapLogging(level: verbose ? .debug : .warning)
        let logger = Logger(label: "hearingai")
        try await CLIFailure.reporting {
            if listJobs { return listRuns() }
            if let resume { return try await resumeRun(resume, logger: logger) }
            let sources = try await ConfigurationSources.load(flags: flagValues, file: nil)
            let configuration = try sources.pipeline()
            try await transcribe(files, output: output, configuration: configuration, logger: logger)
        }
    }

    /// This command's flags, by key.
    private var flagValues: [ConfigurationKey: ConfigContent] {
        var values = pipeline.values
        values[Keys.startTime] = startTime.map { .double($0) }
        values[Keys.endTime] = endTime.map { .double($0) }
        values[Keys.sampleDuration] = sampleDuration.map { .double($0) }
        if !format.isEmpty { values[Keys.formats] = .string(format.joined(separator: ",")) }
        return values
    }

    private var cache: ChunkCache {
        ChunkCache(directory: cacheDir.map { URL(fileURLWithPath: $0) } ?? ChunkCache.defaultDirectory)
    }

    private func listRuns() {
        let runs = cache.runs()
        if runs.isEmpty {
            print("No interrupted runs in \(cache.directory.path)")
            return
        }
        print("JOB_ID\tCHUNKS\tSTARTED\tFILE")
        for run in runs {
            print("\(run.id)\t\(run.chunksDone)\t\(ISO8601DateFormatter().string(from: run.manifest.started))\t\(run.manifest.source)")
        }
    }

    /// Runs an interrupted run again with the configuration it stored (its secrets read again
    /// from the environment).
    private func resumeRun(_ id: String, logger: Logger) async throws {
        guard let run = cache.run(id: id) else {
            throw CLIFailure("\(id): no interrupted run with this ID in \(cache.directory.path) (see --list-jobs)")
        }
        guard var configuration = run.manifest.configuration else {
            // A manifest from before configurations were stored: its command line.
            var command = try TranscribeCommand.parse([run.manifest.source] + (run.manifest.arguments ?? []))
            command.verbose = command.verbose || verbose
            command.showChunks = command.showChunks || showChunks
            return try await command.run()
        }
        let sources = try await ConfigurationSources.load(flags: [:], file: nil)
        configuration.engine.secrets = try sources.secrets(for: configuration.engine)
        try await transcribe([run.manifest.source], output: run.manifest.output, configuration: configuration, logger: logger)
    }

    /// Transcribes `files` in order through one orchestrator: the engine loads once. A file
    /// that fails is reported on one line naming it and the rest still run; if any failed,
    /// throws the exit status 1 (one file: its error, reported as any other).
    private func transcribe(_ files: [String], output: String?, configuration: PipelineConfiguration, logger: Logger) async throws {
        let cache = self.cache
        let limit = try configuration.resolvedMemoryLimit()
        ResourceManager.shared.setLimit(limit)
        logger.debug("Memory limit", metadata: ["memory.limit": "\(limit.map(\.description) ?? "none")"])
        var traceHandler: (@Sendable ([ResourceSupervisor.Sample]) -> Void)?
        if let memoryTrace {
            let writer = MemoryTraceWriter(path: memoryTrace)
            traceHandler = { samples in writer.write(samples, limit: limit) }
        }
        let orchestrator = WorkflowOrchestrator(
            engine: try engines.makeEngine(configuration.engine), maxWorkers: configuration.maxWorkers, cache: cache, logger: logger,
            memoryTrace: traceHandler)
        var failed = 0
        for file in files {
            do {
                try await transcribe(file, output: output, configuration: configuration, orchestrator: orchestrator, logger: logger)
            } catch {
                guard files.count > 1 else {
                    await orchestrator.close()
                    throw error
                }
                failed += 1
                _ = CLIFailure.report(error)
            }
        }
        await orchestrator.close()
        if failed > 0 { throw ExitCode.failure }
    }

    /// Transcribes one file on `orchestrator` and writes its outputs.
    private func transcribe(
        _ file: String, output: String?, configuration: PipelineConfiguration, orchestrator: WorkflowOrchestrator, logger: Logger
    ) async throws {
        let destinations = try outputURLs(for: configuration.formats, file: file, output: output)
        if let key = ChunkCache.key(path: file, configuration: configuration) {
            let entry = cache.entry(forKey: key)
            if force { entry.remove() }
            let outputPath = output.map { URL(fileURLWithPath: $0).path + ($0.hasSuffix("/") ? "/" : "") }
            try? entry.writeManifest(
                .init(source: URL(fileURLWithPath: file).path, output: outputPath, configuration: configuration, started: Date()))
        }
        let bar = ProgressBar.isTerminal && !verbose ? ProgressBar() : nil
        let verbose = self.verbose
        let showChunks = self.showChunks
        let transcript: Transcript
        do {
            transcript = try await orchestrator.transcribe(file, configuration: configuration) { progress in
                bar?.update(progress)
                guard let chunk = progress.chunk else { return }
                if showChunks {
                    bar?.finish()
                    let line =
                        String(
                            format: "chunk %4d  %9.2f-%9.2f s  %4d words  %6.2f s",
                            chunk.index, chunk.start, chunk.end, chunk.words, chunk.decodeSeconds)
                        + (chunk.cached ? "  (checkpoint)" : "") + (chunk.guardNote.map { "  (\($0))" } ?? "") + "\n"
                    FileHandle.standardError.write(Data(line.utf8))
                } else if verbose {
                    var metadata: Logger.Metadata = [
                        "chunk.index": "\(chunk.index)", "chunk.start": "\(chunk.start)", "chunk.end": "\(chunk.end)",
                        "chunk.words": "\(chunk.words)", "chunk.seconds": "\(String(format: "%.2f", chunk.decodeSeconds))",
                        "progress": "\(progress.chunksDone)/\(progress.chunksTotal)",
                    ]
                    if let note = chunk.guardNote { metadata["chunk.guards"] = "\(note)" }
                    logger.debug("Chunk done", metadata: metadata)
                }
            }
            bar?.finish()
        } catch {
            bar?.finish()
            throw error
        }

        try write(transcript, to: destinations, subtitles: configuration.subtitleStyle)
        orchestrator.discardCheckpoints(for: file, configuration: configuration)
        for (_, url) in destinations { print(url.path) }
        if verbose {
            let m = transcript.metadata
            logger.info(
                "Transcribed",
                metadata: [
                    "file.path": "\(file)", "engine.load_seconds": "\(String(format: "%.2f", m.timings.engineLoad))",
                    "audio.seconds": "\(String(format: "%.2f", m.duration))", "chunks": "\(m.chunking.chunks)",
                    "seconds": "\(String(format: "%.2f", m.timings.total))", "speed": "\(String(format: "%.1fx", m.timings.speed))",
                    "memory.limit_mb": "\(m.memory.limitMB.map(String.init) ?? "none")",
                    "memory.limit_source": "\(m.memory.limitSource ?? "none")",
                    "memory.peak_mb": "\(m.memory.peakRSSMB)", "memory.workers_allowed": "\(m.memory.workersAllowed)",
                    "speakers": "\(m.diarization.map { String($0.speakers) } ?? "off")",
                ])
        }
    }

    /// Renders every format first, then writes them; if one write fails, removes the others,
    /// so a failed run leaves no output behind.
    private func write(_ transcript: Transcript, to destinations: [(TranscriptFormat, URL)], subtitles: SubtitleStyle) throws {
        let rendered = try destinations.map { (try transcript.rendered(as: $0.0, subtitles: subtitles), $0.1) }
        var written: [URL] = []
        do {
            for (text, url) in rendered {
                try AtomicFile.write(Data(text.utf8), to: url)
                written.append(url)
            }
        } catch {
            for url in written { try? FileManager.default.removeItem(at: url) }
            throw error
        }
    }

    /// Where each format goes: `-o FILE` for one format; `-o DIR` or `-o BASE.ext` for several
    /// (the extension is swapped per format); otherwise beside the input.
    private func outputURLs(for formats: [TranscriptFormat], file: String, output: String?) throws -> [(TranscriptFormat, URL)] {
        let input = URL(fileURLWithPath: file)
        let stem = input.deletingPathExtension().lastPathComponent
        guard let output else {
            let dir = input.deletingLastPathComponent()
            try Self.checkWritable(
                dir, failure: "\(file): the directory beside it, \(dir.path), is not writable; name another with -o DIR/")
            return formats.map { ($0, dir.appendingPathComponent("\(stem).\($0.fileExtension)")) }
        }
        var isDirectory: ObjCBool = false
        let target = URL(fileURLWithPath: output)
        if output.hasSuffix("/") || (FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) && isDirectory.boolValue) {
            // A trailing slash names a directory: make it, as `mkdir -p` would.
            do {
                try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            } catch {
                throw CLIFailure("\(output): cannot create the output directory (\(Self.reason(error)))")
            }
            try Self.checkWritable(target, failure: "\(output): the output directory \(target.path) is not writable")
            return formats.map { ($0, target.appendingPathComponent("\(stem).\($0.fileExtension)")) }
        }
        let parent = target.deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIFailure("\(output): the output directory \(parent.path) does not exist")
        }
        try Self.checkWritable(parent, failure: "\(output): the output directory \(parent.path) is not writable")
        if formats.count == 1 { return [(formats[0], target)] }
        let base = target.deletingPathExtension()
        return formats.map { ($0, base.appendingPathExtension($0.fileExtension)) }
    }

    /// Refuses, before any audio is decoded, a directory the outputs could not be written to.
    private static func checkWritable(_ directory: URL, failure: @autoclosure () -> String) throws {
        guard access(directory.path, W_OK | X_OK) == 0 else { throw CLIFailure(failure()) }
    }

    private static func reason(_ error: any Error) -> String {
        (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
    }
}
