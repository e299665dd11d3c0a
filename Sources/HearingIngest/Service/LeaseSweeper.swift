import Foundation
import Logging
import ServiceLifecycle

/// On a queue several nodes share: every ``interval`` takes back the jobs of lease holders
/// that stopped heartbeating (``JobQueue/requeueOrphans(owner:isDead:now:)``: expired by the
/// queue's own clock, or a dead process of this node), refreshes this node's row
/// (``SharedJobQueue/nodeHeartbeat(_:)``, for `hearingai status`), and rings the processor's
/// doorbell: the fallback poll, since a notification of another node's job
/// (``QueueListener``) may be lost, and with `poll_only` there are none. A node killed with
/// kill -9 is thus resumed elsewhere within its lease and one interval. On a graceful stop the
/// node's row is removed.
struct LeaseSweeper: Service {
    /// How often a shared queue is swept and polled.
    static let pollInterval: Duration = .seconds(2)

    let queue: any JobQueue
    let owner: String
    let node: String
    /// This node as its row reports it, when the queue keeps rows of nodes.
    let member: ClusterNode?
    /// Whether this node lists the shared inbox now, for its row.
    let listsInbox: @Sendable () async -> Bool
    let interval: Duration
    let doorbell: Doorbell
    let logger: Logger

    func run() async throws {
        let shared = queue as? any SharedJobQueue
        await cancelWhenGracefulShutdown {
            var reportedHeartbeatFailure = false
            while !Task.isCancelled {
                if let shared, var member {
                    member.listsInbox = await listsInbox()
                    do {
                        try await shared.nodeHeartbeat(member)
                        reportedHeartbeatFailure = false
                    } catch {
                        if !reportedHeartbeatFailure {
                            logger.warning("Could not record this node's heartbeat", metadata: ["error": "\(error)"])
                            reportedHeartbeatFailure = true
                        }
                    }
                }
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                do {
                    try await Self.sweep(queue: queue, owner: owner, node: node, shared: true, logger: logger)
                } catch {
                    logger.warning("Could not sweep the queue for expired leases", metadata: ["error": "\(error)"])
                }
                doorbell.ring()
            }
        }
        if let shared, member != nil {
            try? await shared.nodeLeft(owner: owner)
        }
    }

    /// Requeues the jobs of dead lease holders (at startup, for any queue; periodically, for a
    /// shared one) and logs each.
    static func sweep(queue: any JobQueue, owner: String, node: String, shared: Bool, logger: Logger) async throws {
        let requeued = try await queue.requeueOrphans(owner: owner) {
            IngestService.isDead(owner: $0, node: node, shared: shared)
        }
        for job in requeued {
            logger.info(
                "Requeued a job its dead owner left running",
                metadata: [
                    "job.id": "\(job.id ?? 0)", "file.name": "\(job.fileName)", "job.attempts": "\(job.attempts)",
                    "chunks.at_claim": "\(job.chunksAtClaim)", "chunks.done": "\(job.chunksDone)",
                    "attempt.counted": "\(job.chunksDone <= job.chunksAtClaim)",
                ])
        }
    }
}
