import ArgumentParser
import Foundation
import HearingAI
import HearingIngest

/// `hearingai jobs list|show|retry`.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List, inspect and retry the ingest service's jobs.",
        subcommands: [List.self, Show.self, Retry.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")
        @OptionGroup var service: ServiceOptions
        @Option(help: "Only jobs in this state: queued, running, done, failed.") var state: String?
        @Option(help: "At most this many.") var limit = 50

        func run() async throws {
            try await CLIFailure.reporting {
                let filter = try state.map { value -> Job.State in
                    guard let state = Job.State(rawValue: value) else {
                        throw HearingAIError(.invalidOptions, reason: "unknown state '\(value)'")
                    }
                    return state
                }
                let queue = try await service.openQueue()
                print("ID\tSTATE\tTRIES\tNODE\tUPDATED\tFILE")
                for job in try await queue.jobs(state: filter, limit: limit) {
                    print(
                        "\(job.id ?? 0)\t\(job.state.rawValue)\t\(job.attempts)\t\(job.node ?? "-")\t\(JobsCommand.date(job.updatedAt))\t\(job.fileName)"
                    )
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job in full.")
        @OptionGroup var service: ServiceOptions
        @Argument(help: "The job's ID.") var id: Int64

        func run() async throws {
            try await CLIFailure.reporting {
                let queue = try await service.openQueue()
                guard let job = try await queue.job(id) else { throw HearingAIError(.invalidOptions, reason: "job \(id): no such job") }
                let lines: [(String, String?)] = [
                    ("id", "\(id)"), ("file", job.fileName.description), ("state", job.state.rawValue),
                    ("attempts", "\(job.attempts)"), ("size", "\(job.size)"), ("sha256", job.sha256),
                    ("progress", JobsCommand.progress(job)), ("error", job.lastError), ("waiting", job.waitingFor),
                    ("output", job.outputStem.map { FileName(bytes: Array($0)).description }),
                    ("moved to", job.finalName.map { FileName(bytes: Array($0)).description }),
                    ("created", JobsCommand.date(job.createdAt)), ("started", job.startedAt.map(JobsCommand.date)),
                    ("finished", job.finishedAt.map(JobsCommand.date)), ("node", job.node), ("lease", job.leaseOwner),
                ]
                for case let (key, value?) in lines { print("\(key): \(value)") }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue a failed job again: its source moves back from failed/.")
        @OptionGroup var service: ServiceOptions
        @Argument(help: "The job's ID.") var id: Int64

        func run() async throws {
            try await CLIFailure.reporting {
                let (configuration, _) = try await service.load()
                let queue = try await service.openQueue()
                let directories = try IngestDirectories(configuration: configuration)
                try await RetryJob(queue: queue, directories: directories).retry(id)
                print("job \(id) queued again")
            }
        }
    }

    static func date(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// `chunks 3/10, 01:30 / 05:00, ETA 0:02:10`.
    static func progress(_ job: Job) -> String {
        var text = "chunks \(job.chunksDone)/\(job.chunksTotal)"
        if job.audioTotal > 0 {
            text +=
                String(format: ", %.0f%%, ", job.audioDone / job.audioTotal * 100) + clock(job.audioDone) + " / " + clock(job.audioTotal)
        }
        if job.state == .running, let started = job.startedAt, job.audioDone > 0 {
            let elapsed = Date().timeIntervalSince(started)
            let rate = job.audioDone / max(elapsed, 0.001)
            text += ", ETA " + clock(max(0, job.audioTotal - job.audioDone) / rate)
        }
        return text
    }

    static func clock(_ seconds: Double) -> String {
        ClockFormat.hours.string(seconds)
    }
}
