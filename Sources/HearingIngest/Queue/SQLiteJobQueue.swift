public import Foundation
public import GRDB
public import HearingAI
public import Logging

/// The service's queue in SQLite, through GRDB: one machine's ``JobQueue``.
///
/// The database runs in WAL mode with a busy timeout, so `hearingai status` can read while the
/// service writes. Every state change is one short write transaction, run on a thread of the
/// queue's own (SQLite blocks), never on Swift's cooperative pool. A transaction, once asked
/// for, runs even if the asking task is being cancelled: giving a lease back during a graceful
/// stop must not be skipped.
public final class SQLiteJobQueue: JobQueue {
    /// The database.
    public let database: DatabasePool
    /// Where transactions run.
    private let io = BlockingThread(name: "queue-io")
    /// Where stored data that does not decode is reported.
    let logger: Logger?

    /// Opens (creating if needed) the queue at `path` and migrates it. `logger` hears of
    /// stored data that does not decode.
    public init(path: String, readOnly: Bool = false, logger: Logger? = nil) throws {
        self.logger = logger
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.readonly = readOnly
        configuration.label = "hearingai.queue"
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            if !readOnly { try Self.migrator.migrate(database) }
        } catch {
            io.shutdown()
            throw HearingAIError(.queueFailed, path: path, reason: "cannot open the queue database: \(error)")
        }
    }

    deinit { io.shutdown() }

    /// Schema changes, as named migrations.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: jobs, checkpoints, results") { db in
            try db.create(table: "job") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .blob).notNull()
                t.column("workDir", .text).notNull().unique()
                t.column("size", .integer).notNull()
                t.column("mtimeNs", .integer).notNull()
                t.column("sha256", .text).notNull()
                t.column("state", .text).notNull().indexed()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("leaseOwner", .text)
                t.column("heartbeatAt", .datetime)
                t.column("notBefore", .datetime).notNull()
                t.column("lastError", .text)
                t.column("chunksDone", .integer).notNull().defaults(to: 0)
                t.column("chunksTotal", .integer).notNull().defaults(to: 0)
                t.column("audioDone", .double).notNull().defaults(to: 0)
                t.column("audioTotal", .double).notNull().defaults(to: 0)
                t.column("outputStem", .blob)
                t.column("finalName", .blob)
                t.column("createdAt", .datetime).notNull()
                t.column("startedAt", .datetime)
                t.column("updatedAt", .datetime).notNull()
                t.column("finishedAt", .datetime)
            }
            try db.create(table: "checkpoint") { t in
                t.column("resultKey", .text).notNull()
                t.column("chunk", .integer).notNull()
                t.column("words", .blob).notNull()
                t.primaryKey(["resultKey", "chunk"])
            }
            try db.create(table: "result") { t in
                t.column("resultKey", .text).primaryKey()
                t.column("transcript", .blob).notNull()
                t.column("createdAt", .datetime).notNull()
            }
        }
        migrator.registerMigration("v2: lease tokens") { db in
            try db.alter(table: "job") { t in
                t.add(column: "leaseToken", .integer).notNull().defaults(to: 0)
            }
        }
        migrator.registerMigration("v3: waiting for a resource") { db in
            try db.alter(table: "job") { t in
                t.add(column: "waitingFor", .text)
            }
        }
        migrator.registerMigration("v4: progress at claim") { db in
            try db.alter(table: "job") { t in
                t.add(column: "chunksAtClaim", .integer).notNull().defaults(to: 0)
            }
        }
        migrator.registerMigration("v5: uploads and cancellation") { db in
            try db.alter(table: "job") { t in
                t.add(column: "origin", .text).notNull().defaults(to: Job.Origin.inbox.rawValue)
                t.add(column: "priority", .integer).notNull().defaults(to: 0)
                t.add(column: "cancelRequested", .boolean).notNull().defaults(to: false)
            }
        }
        migrator.registerMigration("v6: webhook outbox") { db in
            try db.create(table: "webhook_delivery") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("eventID", .text).notNull()
                t.column("event", .text).notNull()
                t.column("jobID", .integer).notNull().indexed()
                t.column("url", .text).notNull()
                t.column("body", .blob).notNull()
                t.column("state", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("notBefore", .datetime).notNull()
                t.column("lastError", .text)
                t.column("lastStatus", .integer)
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.column("deliveredAt", .datetime)
                t.uniqueKey(["eventID", "url"])
            }
            try db.create(index: "webhook_delivery_due", on: "webhook_delivery", columns: ["state", "notBefore"])
        }
        migrator.registerMigration("v7: node of each job") { db in
            try db.alter(table: "job") { t in
                t.add(column: "node", .text)
            }
        }
        return migrator
    }

    // MARK: - Jobs

    @discardableResult
    public func enqueue(_ job: Job) async throws -> Job {
        try await write { db in
            var job = job
            try job.insert(db)
            return job
        }
    }

    public func job(_ id: Int64) async throws -> Job? {
        try await read { try Job.fetchOne($0, key: id) }
    }

    public func job(workDir: String) async throws -> Job? {
        try await read { try Job.filter(Job.Columns.workDir == workDir).fetchOne($0) }
    }

    public func jobs(state: Job.State?, before: Int64?, limit: Int) async throws -> [Job] {
        try await read { db in
            var request = Job.order(Job.Columns.id.desc).limit(limit)
            if let state { request = request.filter(Job.Columns.state == state.rawValue) }
            if let before { request = request.filter(Job.Columns.id < before) }
            return try request.fetchAll(db)
        }
    }

    public func requestCancel(_ id: Int64, now: Date) async throws -> Job? {
        try await write { db in
            guard var job = try Job.fetchOne(db, key: id) else { return nil }
            guard job.state == .queued || job.state == .running, !job.cancelRequested else { return job }
            job.cancelRequested = true
            if job.state == .queued { job.notBefore = min(job.notBefore, now) }
            job.updatedAt = now
            try job.update(db)
            return job
        }
    }

    public func forget(_ id: Int64) async throws -> Bool {
        try await write { db in
            try Job.filter(key: id)
                .filter([Job.State.done.rawValue, Job.State.failed.rawValue].contains(Job.Columns.state))
                .deleteAll(db) > 0
        }
    }

    public func counts() async throws -> [Job.State: Int] {
        try await read { db in
            var counts: [Job.State: Int] = [:]
            for state in Job.State.allCases {
                counts[state] = try Job.filter(Job.Columns.state == state.rawValue).fetchCount(db)
            }
            return counts
        }
    }

    public func claim(owner: String, now: Date) async throws -> Job? {
        try await write { db in
            guard
                var job =
                    try Job
                    .filter(Job.Columns.state == Job.State.queued.rawValue && Job.Columns.notBefore <= now)
                    .filter(Self.contentNotRunning)
                    .order(Job.Columns.cancelRequested.desc, Job.Columns.priority.desc, Job.Columns.notBefore, Job.Columns.id)
                    .fetchOne(db)
            else { return nil }
            job.claim(owner: owner, now: now)
            try job.update(db)
            return job
        }
    }

    /// Jobs whose content no running job holds: the same audio waits for the running job,
    /// then reuses its stored result.
    private static let contentNotRunning = SQL("sha256 NOT IN (SELECT sha256 FROM job WHERE state = \(Job.State.running.rawValue))")

    public func nextDue() async throws -> Date? {
        try await read { db in
            try Job.filter(Job.Columns.state == Job.State.queued.rawValue)
                .filter(Self.contentNotRunning)
                .select(min(Job.Columns.notBefore), as: Date.self)
                .fetchOne(db)
        }
    }

    public func heartbeat(_ lease: Lease, progress: TranscriptionProgress?, now: Date) async throws {
        try await update(lease) {
            var assignments = [Job.Columns.heartbeatAt.set(to: now), Job.Columns.updatedAt.set(to: now)]
            if let progress {
                assignments += [
                    Job.Columns.chunksDone.set(to: progress.chunksDone), Job.Columns.chunksTotal.set(to: progress.chunksTotal),
                    Job.Columns.audioDone.set(to: progress.audioDone), Job.Columns.audioTotal.set(to: progress.audioTotal),
                ]
            }
            return assignments
        }
    }

    public func setOutputStem(_ lease: Lease, stem: FileName) async throws {
        try await update(lease) { [Job.Columns.outputStem.set(to: Data(stem.bytes))] }
    }

    public func markDone(_ lease: Lease, webhooks: [WebhookDelivery], now: Date) async throws {
        try await update(lease, adding: webhooks) { Self.finished(.done, error: nil, now: now) }
    }

    public func markFailed(_ lease: Lease, reason: String, webhooks: [WebhookDelivery], now: Date) async throws {
        try await update(lease, adding: webhooks) { Self.finished(.failed, error: reason, now: now) }
    }

    public func retryLater(_ lease: Lease, reason: String, notBefore: Date, now: Date) async throws {
        try await update(lease) {
            [
                Job.Columns.state.set(to: Job.State.queued.rawValue), Job.Columns.lastError.set(to: reason),
                Job.Columns.waitingFor.set(to: nil), Job.Columns.leaseOwner.set(to: nil), Job.Columns.notBefore.set(to: notBefore),
                Job.Columns.updatedAt.set(to: now),
            ]
        }
    }

    public func waitForResource(_ lease: Lease, reason: String, notBefore: Date, now: Date) async throws {
        try await update(lease) {
            [
                Job.Columns.state.set(to: Job.State.queued.rawValue), Job.Columns.lastError.set(to: reason),
                Job.Columns.waitingFor.set(to: reason), Job.Columns.leaseOwner.set(to: nil),
                Job.Columns.attempts.set(to: Job.Columns.attempts - 1), Job.Columns.notBefore.set(to: notBefore),
                Job.Columns.updatedAt.set(to: now),
            ]
        }
    }

    public func release(_ lease: Lease, now: Date) async throws {
        try await update(lease) {
            [
                Job.Columns.state.set(to: Job.State.queued.rawValue), Job.Columns.leaseOwner.set(to: nil),
                Job.Columns.attempts.set(to: Job.Columns.attempts - 1), Job.Columns.updatedAt.set(to: now),
            ]
        }
    }

    public func setFinalName(_ id: Int64, _ name: FileName) async throws {
        try await write { db in
            _ = try Job.filter(key: id).updateAll(db, Job.Columns.finalName.set(to: Data(name.bytes)))
        }
    }

    @discardableResult
    public func requeueOrphans(owner: String, isDead: @escaping @Sendable (String) -> Bool, now: Date) async throws -> [Job] {
        try await write { db in
            let running = try Job.filter(Job.Columns.state == Job.State.running.rawValue).fetchAll(db)
            var requeued: [Job] = []
            for var job in running where job.leaseOwner != owner && isDead(job.leaseOwner ?? "") {
                job.requeueAsOrphan(now: now)
                try job.update(db)
                requeued.append(job)
            }
            return requeued
        }
    }

    public func requeueFailed(_ id: Int64, now: Date) async throws {
        try await write { db in
            _ = try Job.filter(key: id).updateAll(
                db,
                [
                    Job.Columns.state.set(to: Job.State.queued.rawValue), Job.Columns.attempts.set(to: 0),
                    Job.Columns.lastError.set(to: nil), Job.Columns.cancelRequested.set(to: false), Job.Columns.finalName.set(to: nil),
                    Job.Columns.finishedAt.set(to: nil),
                    Job.Columns.notBefore.set(to: now), Job.Columns.updatedAt.set(to: now),
                ])
        }
    }

    private static func finished(_ state: Job.State, error: String?, now: Date) -> [ColumnAssignment] {
        [
            Job.Columns.state.set(to: state.rawValue), Job.Columns.lastError.set(to: error),
            Job.Columns.waitingFor.set(to: nil), Job.Columns.leaseOwner.set(to: nil), Job.Columns.finishedAt.set(to: now),
            Job.Columns.updatedAt.set(to: now),
        ]
    }

    /// Applies `assignments` to the running job of `lease` only if the lease is still its,
    /// and in the same transaction inserts `webhooks` (only if it was).
    private func update(
        _ lease: Lease, adding webhooks: [WebhookDelivery] = [], _ assignments: @escaping @Sendable () -> [ColumnAssignment]
    ) async throws {
        let changed = try await write { db in
            let changed =
                try Job.filter(key: lease.jobID)
                .filter(Job.Columns.state == Job.State.running.rawValue)
                .filter(Job.Columns.leaseOwner == lease.owner && Job.Columns.leaseToken == lease.token)
                .updateAll(db, assignments())
            if changed > 0 {
                for var delivery in webhooks { try delivery.insert(db) }
            }
            return changed
        }
        if changed == 0 { throw HearingAIError.leaseLost(lease) }
    }

    // MARK: - Checkpoints and results

    public func checkpoints(resultKey: String) -> any ChunkCheckpoints {
        DatabaseCheckpoints(queue: self, resultKey: resultKey)
    }

    public func result(_ resultKey: String) async throws -> Transcript? {
        let stored = try await read { try StoredResult.fetchOne($0, key: resultKey) }
        return try stored.map { try JSONDecoder().decode(Transcript.self, from: $0.transcript) }
    }

    public func storeResult(_ transcript: Transcript, resultKey: String, now: Date) async throws {
        let stored = StoredResult(resultKey: resultKey, transcript: try JSONEncoder().encode(transcript), createdAt: now)
        try await write { db in
            try stored.upsert(db)
            _ = try StoredCheckpoint.filter(StoredCheckpoint.Columns.resultKey == resultKey).deleteAll(db)
        }
    }

    // MARK: - Transactions

    /// A write transaction, with the database's failures as ``HearingAIError``s.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let database = self.database
        do {
            return try await io.run { try database.write(body) }
        } catch let error as HearingAIError {
            throw error
        } catch {
            throw HearingAIError(.queueFailed, path: database.path, reason: "\(error)")
        }
    }

    /// A read, with the database's failures as ``HearingAIError``s.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let database = self.database
        do {
            return try await io.run { try database.read(body) }
        } catch {
            throw HearingAIError(.queueFailed, path: database.path, reason: "\(error)")
        }
    }
}

/// Chunk checkpoints in the queue's database, for one run.
struct DatabaseCheckpoints: ChunkCheckpoints {
    let queue: SQLiteJobQueue
    let resultKey: String

    func load(chunk index: Int) async -> DecodedChunk? {
        let key = resultKey
        guard
            let stored = try? await queue.read({ db in
                try StoredCheckpoint.fetchOne(
                    db, key: [StoredCheckpoint.Columns.resultKey.name: key, StoredCheckpoint.Columns.chunk.name: index])
            })
        else { return nil }
        return CheckpointCoding.decode(stored.words, chunk: index, logger: queue.logger)
    }

    func store(_ chunk: DecodedChunk, chunk index: Int) async throws {
        let stored = StoredCheckpoint(resultKey: resultKey, chunk: index, words: try CheckpointCoding.encode(chunk))
        try await queue.write { db in try stored.upsert(db) }
    }
}

/// A finished chunk's words, as the `checkpoint` table holds them.
struct StoredCheckpoint: Codable, Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "checkpoint"
    enum Columns {
        static let resultKey = Column(CodingKeys.resultKey)
        static let chunk = Column(CodingKeys.chunk)
    }
    var resultKey: String
    var chunk: Int
    var words: Data
}

/// A finished transcript, as the `result` table holds it.
struct StoredResult: Codable, Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "result"
    var resultKey: String
    var transcript: Data
    var createdAt: Date
}
