import ArgumentParser
import Foundation
import HearingAI
import HearingIngest

/// `hearingai status`: queue counts per state and the running job's progress.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Show the ingest queue: jobs per state, the running jobs with their node, progress and ETA, jobs waiting for disk space, a shared queue's nodes, and inbox entries that cannot be taken."
    )

    @OptionGroup var service: ServiceOptions

    func run() async throws {
        try await CLIFailure.reporting {
            let queue = try await service.openQueue()
            let counts = try await queue.counts()
            print(Job.State.allCases.map { "\($0.rawValue): \(counts[$0] ?? 0)" }.joined(separator: "  "))
            let running = try await queue.jobs(state: .running)
            for job in running {
                print("running: job \(job.id ?? 0) \(job.fileName) on \(job.node ?? "?")  \(JobsCommand.progress(job))")
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
            let (configuration, _) = try await service.load()
            if let shared = queue as? any SharedJobQueue {
                for line in Self.nodeLines(try await shared.nodes(), running: running, lease: configuration.leaseDuration) {
                    print(line)
                }
            }
            // What the running service reports about its inbox (a stale report of a stopped
            // service is not shown).
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

extension StatusCommand {
    /// A shared queue's nodes, one line each: name, process, version, memory limit, last
    /// heartbeat by the queue's clock, whether it lists the inbox, and the jobs it runs. A node silent for longer than
    /// `lease` is presumed gone (its jobs are being taken back).
    static func nodeLines(_ nodes: [ClusterNode], running: [Job], lease: Duration) -> [String] {
        var lines = ["nodes: \(nodes.count)"]
        for node in nodes {
            let pid = node.owner.split(separator: ":").dropLast().last.map(String.init) ?? "?"
            let limit = node.memoryLimit.map { "limit \($0 / 1_048_576) MB" } ?? "no limit"
            let age = node.secondsSinceHeartbeat ?? 0
            var line = "node: \(node.name) (pid \(pid), \(node.version), \(limit)): heartbeat \(Int(age.rounded())) s ago"
            if age > lease.seconds { line += ", silent past its lease: presumed gone" }
            if node.listsInbox { line += ", lists the inbox" }
            let jobs = running.filter { $0.leaseOwner == node.owner }
            line += jobs.isEmpty ? ", idle" : ", running " + jobs.map { "job \($0.id ?? 0) \($0.fileName)" }.joined(separator: ", ")
            lines.append(line)
        }
        return lines
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
