import ArgumentParser
import Foundation
import HearingAI
import HearingIngest

/// `hearingai status`: queue counts per state and the running job's progress.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Show the ingest queue: jobs per state, the running job with its progress and ETA, jobs waiting for disk space, and inbox entries that cannot be taken."
    )

    @OptionGroup var service: ServiceOptions

    func run() async throws {
        try await CLIFailure.reporting {
            let queue = try await service.openQueue()
            let counts = try await queue.counts()
            print(Job.State.allCases.map { "\($0.rawValue): \(counts[$0] ?? 0)" }.joined(separator: "  "))
            for job in try await queue.jobs(state: .running) {
                print("running: job \(job.id ?? 0) \(job.fileName)  \(JobsCommand.progress(job))")
            }
            let queued = try await queue.jobs(state: .queued, limit: 1000)
            // A job held back by the machine (a full disk) rather than by its file.
            for job in queued.reversed() {
                guard let reason = job.waitingFor else { continue }
                let seconds = max(0, Int(job.notBefore.timeIntervalSinceNow.rounded(.up)))
                print("waiting: \(reason)  job \(job.id ?? 0) \(job.fileName), next try in \(seconds) s")
            }
            if let next = queued.last {
                print("next: job \(next.id ?? 0) \(next.fileName)")
            }
            // What the running service reports about its inbox (a stale report of a stopped
            // service is not shown).
            let (configuration, _) = try await service.load()
            if let path = try queueBackends.backend(for: configuration.database).healthSnapshotPath(configuration),
                let health = ServiceHealth.Snapshot.read(path: path), health.isLive
            {
                if let since = health.inboxMissingSince {
                    let seconds = Int(Date().timeIntervalSince(since))
                    print("inbox missing: \(health.inbox) for \(seconds) s\(health.ready ? "" : " (not ready)")")
                }
                for entry in health.unreadable {
                    print("cannot take: \(entry.path): \(entry.reason) (since \(JobsCommand.date(entry.since)))")
                }
            }
        }
    }
}

extension ServiceOptions {
    /// Opens the configured queue for reading and writing (migrations included); one that does
    /// not exist yet is an error.
    func openQueue() async throws -> any JobQueue {
        let (configuration, _) = try await load()
        return try await queueBackends.open(configuration, create: false)
    }
}
