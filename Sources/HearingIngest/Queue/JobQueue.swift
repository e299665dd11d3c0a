public import Foundation
public import GRDB
public import HearingAI

/// The service's queue in SQLite, through GRDB: jobs, chunk checkpoints and finished results.
///
/// The database runs in WAL mode with a busy timeout, so `hearingai status` can read while the
/// service writes. Every state change is one short write transaction.
public final class JobQueue: Sendable {
    /// The database.
    public let database: DatabasePool

    /// Opens (creating if needed) the queue at `path` and migrates it.
    public init(path: String, readOnly: Bool = false) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.readonly = readOnly
        configuration.label = "hearingai.queue"
        database = try DatabasePool(path: path, configuration: configuration)
        if !readOnly { try Self.migrator.migrate(database) }
    }

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
        return migrator
    }

    // MARK: - Jobs

    /// Adds a queued job and returns it with its id.
    @discardableResult
    public func enqueue(_ job: Job) throws -> Job {
        try database.write { db in
            var job = job
            try job.insert(db)
            return job
        }
    }

    /// The job with `id`.
    public func job(_ id: Int64) throws -> Job? {
        try database.read { try Job.fetchOne($0, key: id) }
    }

    /// The job whose work directory is `workDir`.
    public func job(workDir: String) throws -> Job? {
        try database.read { try Job.filter(Column("workDir") == workDir).fetchOne($0) }
    }

    /// Jobs, newest first, optionally only in `state`.
    public func jobs(state: Job.State? = nil, limit: Int = 100) throws -> [Job] {
        try database.read { db in
            var request = Job.order(Column("id").desc).limit(limit)
            if let state { request = request.filter(Column("state") == state.rawValue) }
            return try request.fetchAll(db)
        }
    }

    /// How many jobs are in each state.
    public func counts() throws -> [Job.State: Int] {
        try database.read { db in
            var counts: [Job.State: Int] = [:]
            for state in Job.State.allCases {
                counts[state] = try Job.filter(Column("state") == state.rawValue).fetchCount(db)
            }
            return counts
        }
    }

    /// Claims the oldest queued job that is due, atomically: it becomes `running` under
    /// `owner`'s lease and its attempts go up by one (so a job that crashes the process is
    /// counted). Returns nil when nothing is due.
    public func claim(owner: String, now: Date = Date()) throws -> Job? {
        try database.write { db in
            guard var job = try Job
                .filter(Column("state") == Job.State.queued.rawValue && Column("notBefore") <= now)
                .order(Column("notBefore"), Column("id"))
                .fetchOne(db)
            else { return nil }
            job.state = .running
            job.attempts += 1
            job.leaseOwner = owner
            job.heartbeatAt = now
            job.startedAt = now
            job.updatedAt = now
            try job.update(db)
            return job
        }
    }

    /// The earliest time a queued job becomes due, if any.
    public func nextDue() throws -> Date? {
        try database.read { db in
            try Date.fetchOne(db, sql: "SELECT MIN(notBefore) FROM job WHERE state = 'queued'")
        }
    }

    /// Records that `owner` still holds `id`, with its progress.
    public func heartbeat(_ id: Int64, owner: String, progress: TranscriptionProgress? = nil, now: Date = Date()) throws {
        try database.write { db in
            var assignments = [Column("heartbeatAt").set(to: now), Column("updatedAt").set(to: now)]
            if let progress {
                assignments += [
                    Column("chunksDone").set(to: progress.chunksDone), Column("chunksTotal").set(to: progress.chunksTotal),
                    Column("audioDone").set(to: progress.audioDone), Column("audioTotal").set(to: progress.audioTotal),
                ]
            }
            _ = try Job.filter(key: id).filter(Column("leaseOwner") == owner).updateAll(db, assignments)
        }
    }

    /// Records the outbox stem chosen for `id`'s outputs.
    public func setOutputStem(_ id: Int64, stem: FileName) throws {
        try database.write { db in
            _ = try Job.filter(key: id).updateAll(db, Column("outputStem").set(to: Data(stem.bytes)))
        }
    }

    /// Marks `id` done.
    public func markDone(_ id: Int64, now: Date = Date()) throws {
        try finish(id, state: .done, error: nil, now: now)
    }

    /// Marks `id` failed with `reason`.
    public func markFailed(_ id: Int64, reason: String, now: Date = Date()) throws {
        try finish(id, state: .failed, error: reason, now: now)
    }

    /// Records where the source went (processed/ or failed/).
    public func setFinalName(_ id: Int64, _ name: FileName) throws {
        try database.write { db in
            _ = try Job.filter(key: id).updateAll(db, Column("finalName").set(to: Data(name.bytes)))
        }
    }

    private func finish(_ id: Int64, state: Job.State, error: String?, now: Date) throws {
        try database.write { db in
            _ = try Job.filter(key: id).updateAll(db, [
                Column("state").set(to: state.rawValue), Column("lastError").set(to: error),
                Column("leaseOwner").set(to: nil), Column("finishedAt").set(to: now), Column("updatedAt").set(to: now),
            ])
        }
    }

    /// Puts `id` back in the queue, due at `notBefore`, after a transient failure.
    public func retryLater(_ id: Int64, reason: String, notBefore: Date, now: Date = Date()) throws {
        try database.write { db in
            _ = try Job.filter(key: id).updateAll(db, [
                Column("state").set(to: Job.State.queued.rawValue), Column("lastError").set(to: reason),
                Column("leaseOwner").set(to: nil), Column("notBefore").set(to: notBefore), Column("updatedAt").set(to: now),
            ])
        }
    }

    /// Gives back `id` after a graceful stop: queued again at once, and the interrupted
    /// attempt is not counted.
    public func release(_ id: Int64, owner: String, now: Date = Date()) throws {
        try database.write { db in
            _ = try Job.filter(key: id).filter(Column("leaseOwner") == owner).updateAll(db, [
                Column("state").set(to: Job.State.queued.rawValue), Column("leaseOwner").set(to: nil),
                Column("attempts").set(to: max(0, (try Job.fetchOne(db, key: id)?.attempts ?? 1) - 1)),
                Column("updatedAt").set(to: now),
            ])
        }
    }

    /// Requeues running jobs whose lease holder is not `owner` and is dead by `isDead`.
    /// Returns the jobs requeued. Their attempts stay counted.
    @discardableResult
    public func requeueOrphans(owner: String, isDead: (String) -> Bool, now: Date = Date()) throws -> [Job] {
        try database.write { db in
            let running = try Job.filter(Column("state") == Job.State.running.rawValue).fetchAll(db)
            var requeued: [Job] = []
            for var job in running where job.leaseOwner != owner && isDead(job.leaseOwner ?? "") {
                job.state = .queued
                job.leaseOwner = nil
                job.lastError = "interrupted: the service stopped while transcribing"
                job.updatedAt = now
                try job.update(db)
                requeued.append(job)
            }
            return requeued
        }
    }

    /// Puts a failed job back in the queue with its attempts reset.
    public func requeueFailed(_ id: Int64, now: Date = Date()) throws {
        try database.write { db in
            _ = try Job.filter(key: id).updateAll(db, [
                Column("state").set(to: Job.State.queued.rawValue), Column("attempts").set(to: 0),
                Column("lastError").set(to: nil), Column("finalName").set(to: nil), Column("finishedAt").set(to: nil),
                Column("notBefore").set(to: now), Column("updatedAt").set(to: now),
            ])
        }
    }

    // MARK: - Checkpoints and results

    /// Chunk checkpoints of the run identified by `resultKey`.
    public func checkpoints(resultKey: String) -> DatabaseCheckpoints {
        DatabaseCheckpoints(queue: self, resultKey: resultKey)
    }

    /// The stored transcript for `resultKey`, if this content was transcribed before.
    public func result(_ resultKey: String) throws -> Transcript? {
        try database.read { db in
            guard let data = try Data.fetchOne(db, sql: "SELECT transcript FROM result WHERE resultKey = ?", arguments: [resultKey]) else { return nil }
            return try JSONDecoder().decode(Transcript.self, from: data)
        }
    }

    /// Stores `transcript` for `resultKey` and drops its chunk checkpoints, in one transaction.
    public func storeResult(_ transcript: Transcript, resultKey: String, now: Date = Date()) throws {
        let data = try JSONEncoder().encode(transcript)
        try database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO result (resultKey, transcript, createdAt) VALUES (?, ?, ?)", arguments: [resultKey, data, now])
            try db.execute(sql: "DELETE FROM checkpoint WHERE resultKey = ?", arguments: [resultKey])
        }
    }
}

/// Chunk checkpoints in the queue's database, for one run.
public struct DatabaseCheckpoints: ChunkCheckpoints {
    let queue: JobQueue
    let resultKey: String

    public func load(chunk index: Int) -> [Word]? {
        guard let data = try? queue.database.read({ db in
            try Data.fetchOne(db, sql: "SELECT words FROM checkpoint WHERE resultKey = ? AND chunk = ?", arguments: [resultKey, index])
        }) else { return nil }
        return try? JSONDecoder().decode([Word].self, from: data)
    }

    public func store(_ words: [Word], chunk index: Int) throws {
        let data = try JSONEncoder().encode(words)
        try queue.database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO checkpoint (resultKey, chunk, words) VALUES (?, ?, ?)", arguments: [resultKey, index, data])
        }
    }

    /// How many chunks are checkpointed.
    public var count: Int {
        (try? queue.database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM checkpoint WHERE resultKey = ?", arguments: [resultKey]) ?? 0 }) ?? 0
    }
}
