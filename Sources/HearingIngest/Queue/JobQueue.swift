public import Foundation
public import HearingAI
public import Logging

/// The service's queue: jobs with leases, chunk checkpoints and finished results.
///
/// The processor, the intake and the command line use this protocol, not a database:
/// ``SQLiteJobQueue`` implements it for one machine, and `PostgresJobQueue` (module
/// HearingPostgres, docs/scaling.md) for several nodes on one PostgreSQL database; both run the
/// same contract (Tests/HearingIngestTests/JobQueueContractTests.swift runs against every backend).
///
/// Contract:
/// - ``claim(owner:now:)`` takes the oldest due queued job atomically: it becomes `running`
///   under a new ``Lease`` (a fresh token) and its attempts go up by one, so a job that crashes
///   its processor is counted. It skips a job whose content (`sha256`) another running job is
///   transcribing: files run at once, and the same audio twice is transcribed once and then
///   reused from the result store. The job's progress (``Job/chunksDone``, as reported by
///   ``heartbeat(_:progress:now:)``) is noted as ``Job/chunksAtClaim``.
/// - Quarantine counts only attempts that made no progress: when ``requeueOrphans(owner:isDead:now:)``
///   takes back the job of a dead lease holder whose reported chunks grew past
///   ``Job/chunksAtClaim``, the attempt is not counted; one that died without finishing a new
///   chunk stays counted, so a file that kills the process at the same chunk every time is
///   still quarantined after `max_attempts`.
/// - Writes about a running job name its lease; one made under a lease that is no longer the
///   job's fails with ``HearingAIError/Code/leaseLost`` and changes nothing.
/// - A queued job of higher ``Job/priority`` (an upload whose client waits) is claimed
///   before older ones of lower priority; a job whose cancellation was requested before all.
/// - Every method is one short transaction; nothing is held open while a file is transcribed.
/// - Webhooks have a durable outbox in the same database: ``markDone(_:webhooks:now:)`` and
///   ``markFailed(_:reason:webhooks:now:)`` write the job's end and its ``WebhookDelivery`` rows
///   in one transaction (both or neither: a lost lease writes no event). A delivery is pending
///   until ``webhookDelivered(_:status:now:)``, or until ``webhookAttemptFailed(_:error:status:retryAt:now:)``
///   without a retry time gives it up; ``dueWebhooks(now:limit:)`` returns pending deliveries
///   whose time has come, oldest first.
public protocol JobQueue: Sendable {
    /// Adds a queued job and returns it with its id.
    @discardableResult
    func enqueue(_ job: Job) async throws -> Job
    /// Claims the oldest queued job due at `now`, or returns nil when none is.
    func claim(owner: String, now: Date) async throws -> Job?
    /// Records that the lease holder is alive, with its progress.
    func heartbeat(_ lease: Lease, progress: TranscriptionProgress?, now: Date) async throws
    /// Records the outbox stem chosen for the job's outputs, before they are written.
    func setOutputStem(_ lease: Lease, stem: FileName) async throws
    /// Marks the job done and adds `webhooks` to the outbox, in one transaction.
    func markDone(_ lease: Lease, webhooks: [WebhookDelivery], now: Date) async throws
    /// Marks the job failed with `reason` and adds `webhooks` to the outbox, in one transaction.
    func markFailed(_ lease: Lease, reason: String, webhooks: [WebhookDelivery], now: Date) async throws
    /// Puts the job back in the queue, due at `notBefore`, after a transient failure.
    func retryLater(_ lease: Lease, reason: String, notBefore: Date, now: Date) async throws
    /// Puts the job back in the queue, due at `notBefore`, because the machine lacks a resource
    /// (a full disk): the attempt is not counted, and `reason` is kept as the job's
    /// ``Job/waitingFor`` until it ends or fails for another reason.
    func waitForResource(_ lease: Lease, reason: String, notBefore: Date, now: Date) async throws
    /// Gives the job back after a graceful stop: queued at once, the attempt not counted.
    func release(_ lease: Lease, now: Date) async throws
    /// Records where the job's source went (processed/ or failed/).
    func setFinalName(_ id: Int64, _ name: FileName) async throws
    /// Requeues running jobs whose lease holder is not `owner` and is dead by `isDead`. An
    /// attempt whose progress grew (``Job/chunksDone`` over ``Job/chunksAtClaim``) is not
    /// counted; one without progress stays counted. Returns them, as requeued.
    func requeueOrphans(owner: String, isDead: @escaping @Sendable (String) -> Bool, now: Date) async throws -> [Job]
    /// Puts a failed job back in the queue with its attempts reset.
    func requeueFailed(_ id: Int64, now: Date) async throws
    /// The job with `id`.
    func job(_ id: Int64) async throws -> Job?
    /// The job whose work directory is `workDir`.
    func job(workDir: String) async throws -> Job?
    /// Jobs, newest first, optionally only in `state`, and only those with an id below
    /// `before` (the next page after a page that ended there).
    func jobs(state: Job.State?, before: Int64?, limit: Int) async throws -> [Job]
    /// Asks for the job to be cancelled and returns it (nil if there is no such job). A queued
    /// job becomes due at once and is claimed before any other, to be failed with the reason
    /// "cancelled"; a running one is stopped at its processor's next heartbeat. A job that
    /// has ended is returned unchanged.
    func requestCancel(_ id: Int64, now: Date) async throws -> Job?
    /// Deletes the record of a job that has ended (done or failed); its outputs and source
    /// stay where they are. Returns whether one was deleted.
    func forget(_ id: Int64) async throws -> Bool
    /// How many jobs are in each state.
    func counts() async throws -> [Job.State: Int]
    /// The earliest time a queued job becomes due, if any; a job that ``claim(owner:now:)``
    /// skips because its content is running is not counted (it is claimable when that job
    /// ends, not at a time).
    func nextDue() async throws -> Date?
    /// The chunk checkpoints of the run identified by `resultKey`.
    func checkpoints(resultKey: String) -> any ChunkCheckpoints
    /// The stored transcript for `resultKey`, if this content was transcribed before under the
    /// same configuration. A stored result that does not decode throws a `DecodingError`, so
    /// the caller can discard it and transcribe again (``storeResult(_:resultKey:now:)``
    /// replaces it).
    func result(_ resultKey: String) async throws -> Transcript?
    /// Stores `transcript` for `resultKey` and drops its checkpoints, in one transaction.
    func storeResult(_ transcript: Transcript, resultKey: String, now: Date) async throws

    // MARK: Webhook outbox

    /// Pending deliveries due at `now`, oldest due first, at most `limit`.
    func dueWebhooks(now: Date, limit: Int) async throws -> [WebhookDelivery]
    /// The earliest time a pending delivery falls due, if any.
    func nextWebhookDue() async throws -> Date?
    /// Records that the receiver accepted delivery `id` with `status`; counts the attempt.
    func webhookDelivered(_ id: Int64, status: Int, now: Date) async throws
    /// Records a failed attempt at delivery `id` (counted): pending again, due at `retryAt`, or
    /// given up when `retryAt` is nil.
    func webhookAttemptFailed(_ id: Int64, error: String, status: Int?, retryAt: Date?, now: Date) async throws
    /// Deliveries, newest first, optionally only in `state`.
    func webhooks(state: WebhookDelivery.State?, limit: Int) async throws -> [WebhookDelivery]
    /// Makes deliveries pending again, due at `now` with their attempts reset: those in `ids`
    /// (whatever their state: a delivered event can be sent again), or every given-up one
    /// when `ids` is nil. Returns how many changed.
    func retryWebhooks(_ ids: [Int64]?, now: Date) async throws -> Int
}

extension JobQueue {
    /// Claims at the current time.
    public func claim(owner: String) async throws -> Job? { try await claim(owner: owner, now: Date()) }
    /// A heartbeat now.
    public func heartbeat(_ lease: Lease, progress: TranscriptionProgress? = nil) async throws {
        try await heartbeat(lease, progress: progress, now: Date())
    }
    /// Marks done now, with no webhook.
    public func markDone(_ lease: Lease) async throws { try await markDone(lease, webhooks: [], now: Date()) }
    /// Marks done at `now`, with no webhook.
    public func markDone(_ lease: Lease, now: Date) async throws { try await markDone(lease, webhooks: [], now: now) }
    /// Marks failed now, with no webhook.
    public func markFailed(_ lease: Lease, reason: String) async throws {
        try await markFailed(lease, reason: reason, webhooks: [], now: Date())
    }
    /// Marks failed at `now`, with no webhook.
    public func markFailed(_ lease: Lease, reason: String, now: Date) async throws {
        try await markFailed(lease, reason: reason, webhooks: [], now: now)
    }
    /// Retries later, counted from now.
    public func retryLater(_ lease: Lease, reason: String, notBefore: Date) async throws {
        try await retryLater(lease, reason: reason, notBefore: notBefore, now: Date())
    }
    /// Waits for a resource, counted from now.
    public func waitForResource(_ lease: Lease, reason: String, notBefore: Date) async throws {
        try await waitForResource(lease, reason: reason, notBefore: notBefore, now: Date())
    }
    /// Releases now.
    public func release(_ lease: Lease) async throws { try await release(lease, now: Date()) }
    /// Requeues orphans now.
    @discardableResult
    public func requeueOrphans(owner: String, isDead: @escaping @Sendable (String) -> Bool) async throws -> [Job] {
        try await requeueOrphans(owner: owner, isDead: isDead, now: Date())
    }
    /// Requeues a failed job now.
    public func requeueFailed(_ id: Int64) async throws { try await requeueFailed(id, now: Date()) }
    /// Jobs, newest first.
    public func jobs(state: Job.State? = nil, limit: Int = 100) async throws -> [Job] {
        try await jobs(state: state, before: nil, limit: limit)
    }
    /// Asks for a cancellation now.
    public func requestCancel(_ id: Int64) async throws -> Job? { try await requestCancel(id, now: Date()) }
    /// Deliveries, newest first.
    public func webhooks(state: WebhookDelivery.State? = nil, limit: Int = 100) async throws -> [WebhookDelivery] {
        try await webhooks(state: state, limit: limit)
    }
    /// Stores a result now.
    public func storeResult(_ transcript: Transcript, resultKey: String) async throws {
        try await storeResult(transcript, resultKey: resultKey, now: Date())
    }
}

extension HearingAIError {
    /// A write under a lease that is no longer the job's (every backend reports it so).
    public static func leaseLost(_ lease: Lease) -> HearingAIError {
        HearingAIError(.leaseLost, reason: "job \(lease.jobID): lease lost (the job was requeued and claimed again); not writing")
    }
}
