public import Foundation
public import HearingAI

/// A ``JobQueue`` several services (nodes) share, on several machines: the nodes report
/// themselves in it, and it wakes idle ones when any of them queues a job.
///
/// `PostgresJobQueue` (module HearingPostgres) is one. The service keeps its node's row alive
/// (``ClusterMember``) and, unless `poll_only`, listens for claimable jobs
/// (``listenForClaimableJobs(onConnect:wake:)``); `hearingai status` lists the nodes.
public protocol SharedJobQueue: JobQueue {
    /// Records that `node` is alive: adds its row or refreshes its heartbeat, by the queue's
    /// clock. Rows of nodes not heard from for a day are removed.
    func nodeHeartbeat(_ node: ClusterNode) async throws
    /// Removes the row of the node `owner` (it stopped gracefully).
    func nodeLeft(owner: String) async throws
    /// Every node's row, oldest first, with ``ClusterNode/secondsSinceHeartbeat`` by the queue's
    /// clock.
    func nodes() async throws -> [ClusterNode]
    /// Calls `wake` each time a job becomes claimable (queued, retried or given back, by any
    /// node), until the calling task is cancelled. Notifications sent while not connected are
    /// lost, so `onConnect` is called each time listening (re)starts: the caller looks at the
    /// queue then. A dropped connection is reconnected with backoff; only cancellation ends
    /// the call.
    func listenForClaimableJobs(onConnect: @escaping @Sendable () -> Void, wake: @escaping @Sendable () -> Void) async throws
    /// Makes this node the one that lists the shared inbox whenever no other node is, until the
    /// calling task is cancelled: `changed(true)` when it becomes the lister, `changed(false)`
    /// when it stops being one (its hold on the queue was lost, or it was cancelled). The hold
    /// lasts as long as the node's connection, so when the lister dies another takes over
    /// within `retry`. Only cancellation ends the call.
    func leadInboxListing(retry: Duration, changed: @escaping @Sendable (Bool) -> Void) async throws
}

/// A node of a shared queue, as its row says.
public struct ClusterNode: Sendable, Equatable {
    /// Its `node_name`.
    public var name: String
    /// Its process as a lease owner (`NODE:PID:START`): unique per running service.
    public var owner: String
    /// Its HearingAI version.
    public var version: String
    /// Its memory limit in bytes, if it has one.
    public var memoryLimit: Int?
    /// When it started, by the queue's clock (nil until stored).
    public var startedAt: Date?
    /// Whether it lists the shared inbox (one node at a time does).
    public var listsInbox: Bool
    /// Seconds since its last heartbeat, by the queue's clock (nil until stored).
    public var secondsSinceHeartbeat: Double?

    /// A node as it reports itself.
    public init(
        name: String, owner: String, version: String = HearingAIVersion.current, memoryLimit: Int? = nil, listsInbox: Bool = false
    ) {
        self.name = name
        self.owner = owner
        self.version = version
        self.memoryLimit = memoryLimit
        self.listsInbox = listsInbox
    }
}
