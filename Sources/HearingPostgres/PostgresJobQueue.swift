public import Foundation
public import HearingAI
public import HearingIngest
public import Logging
import PostgresNIO

/// The service's queue in PostgreSQL: a ``JobQueue`` that several nodes share.
///
/// Each queue holds a connection pool (postgres-nio's `PostgresClient`) driven by a task of its
/// own until ``close()``. The schema is migrated when the queue opens, under an advisory lock, so
/// nodes starting at once do not race. Every method is one statement or one short transaction;
/// nothing is held open while a file is transcribed. A transaction, once asked for, runs even if
/// the asking task is being cancelled: giving a lease back during a graceful stop must not be
/// skipped.
///
/// Claims are one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)`: concurrent claimers on
/// any node never take the same job and never wait for each other's rows. At most one job per
/// content (`sha256`) runs, enforced by a partial unique index as well as by the claim itself.
///
/// Leases are timed by the database's clock only, never the nodes': a heartbeat sets
/// `heartbeat_at = now()`, and ``requeueOrphans(owner:isDead:now:)`` also takes back jobs whose
/// holder has not sent one for ``leaseDuration``, wherever it ran. The dates callers pass
/// (`now`, `notBefore`) are stored as given, to the millisecond as ``SQLiteJobQueue`` stores them.
///
/// Failures are ``HearingAIError/Code/queueFailed`` errors of one line; none repeats the password.
public final class PostgresJobQueue: JobQueue {
    /// How long a running job's holder may go without a heartbeat before another node's
    /// ``requeueOrphans(owner:isDead:now:)`` takes the job back.
    public let leaseDuration: Duration
    /// The pool.
    let client: PostgresClient
    /// Drives the pool until ``close()``.
    private let runTask: Task<Void, Never>
    /// Where to connect (for messages: without the password).
    let settings: PostgresSettings
    /// Where stored data that does not decode is reported.
    let logger: Logger?
    /// What postgres-nio is given to log into: nothing (its messages may carry queries and data).
    static let quiet = Logger(label: "hearingai.queue.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Connects to the database at `url` (`postgres://user@host:port/database?…` or
    /// `postgresql://…`, including a unix socket directory as `?host=/path/to/dir`), migrates it
    /// and starts the pool.
    ///
    /// - Parameters:
    ///   - url: A libpq-style URL; `sslmode` (`disable`, `allow`, `prefer`: the default,
    ///     `require`, `verify-ca`, `verify-full`) chooses TLS over TCP; a unix socket has none.
    ///   - password: The password, replacing the URL's if given (as from a password file).
    ///   - leaseDuration: How long a holder may go without a heartbeat before its job is
    ///     requeued by another node; several heartbeat intervals.
    ///   - maximumConnections: The pool's size.
    ///   - logger: Hears of stored data that does not decode.
    /// - Throws: ``HearingAIError/Code/queueFailed`` when the URL is invalid, the server cannot
    ///   be reached, refuses the login, or the schema cannot be migrated.
    public init(
        url: String, password: String? = nil, leaseDuration: Duration = .seconds(30), maximumConnections: Int = 10,
        logger: Logger? = nil
    ) async throws {
        let settings = try PostgresSettings(url: url, password: password)
        self.settings = settings
        self.leaseDuration = leaseDuration
        self.logger = logger
        // One connection first: a refused login or an unreachable server fails here at once
        // (the pool would retry in the background), and migrations run on it.
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try settings.connectionConfiguration(), id: 0, logger: Self.quiet)
            do {
                try await PostgresSchema.migrate(connection, logger: Self.quiet)
                try? await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        } catch {
            throw Self.failure(error, settings: settings, doing: "cannot open the queue database")
        }
        var configuration = settings.clientConfiguration
        configuration.options.maximumConnections = max(1, maximumConnections)
        let client = PostgresClient(configuration: configuration, backgroundLogger: Self.quiet)
        self.client = client
        runTask = Task { await client.run() }
    }

    deinit { runTask.cancel() }

    /// Closes the pool: its connections end, and the queue fails every call afterwards.
    public func close() async {
        runTask.cancel()
        await runTask.value
    }

    // MARK: - Jobs

    @discardableResult
    public func enqueue(_ job: Job) async throws -> Job {
        var job = job
        let rows = try await query(
            try """
            INSERT INTO job (name, work_dir, size, mtime_ns, sha256, state, attempts, lease_owner, lease_token, heartbeat_at,
                not_before, last_error, chunks_done, chunks_at_claim, chunks_total, audio_done, audio_total, output_stem,
                final_name, waiting_for, created_at, started_at, updated_at, finished_at, origin, priority, cancel_requested, node)
            VALUES (\(job.name), \(job.workDir), \(job.size), \(job.mtimeNs), \(job.sha256), \(job.state.rawValue),
                \(job.attempts), \(job.leaseOwner), \(job.leaseToken), \(job.heartbeatAt?.millis), \(job.notBefore.millis), \(job.lastError),
                \(job.chunksDone), \(job.chunksAtClaim), \(job.chunksTotal), \(job.audioDone), \(job.audioTotal),
                \(job.outputStem), \(job.finalName), \(job.waitingFor), \(job.createdAt.millis), \(job.startedAt?.millis), \(job.updatedAt.millis),
                \(job.finishedAt?.millis), \(job.origin.rawValue), \(job.priority), \(job.cancelRequested), \(job.node))
            RETURNING id
            """)
        job.id = try rows.first.map { try $0.makeRandomAccess()["id"].decode(Int64.self) }
        return job
    }

    public func job(_ id: Int64) async throws -> Job? {
        try await query("SELECT * FROM job WHERE id = \(id)").first.map(Self.job)
    }

    public func job(workDir: String) async throws -> Job? {
        try await query("SELECT * FROM job WHERE work_dir = \(workDir)").first.map(Self.job)
    }

    public func jobs(state: Job.State?, before: Int64?, limit: Int) async throws -> [Job] {
        try await query(
            """
            SELECT * FROM job WHERE (\(state?.rawValue)::text IS NULL OR state = \(state?.rawValue))
                AND (\(before)::bigint IS NULL OR id < \(before))
            ORDER BY id DESC LIMIT \(limit)
            """
        ).map(Self.job)
    }

    public func requestCancel(_ id: Int64, now: Date) async throws -> Job? {
        let changed = try await query(
            """
            UPDATE job SET cancel_requested = true, updated_at = \(now.millis),
                not_before = CASE WHEN state = 'queued' THEN LEAST(not_before, \(now.millis)) ELSE not_before END
            WHERE id = \(id) AND state IN ('queued', 'running') AND NOT cancel_requested
            RETURNING *
            """)
        if let row = changed.first { return try Self.job(row) }
        return try await job(id)
    }

    public func forget(_ id: Int64) async throws -> Bool {
        try await !query("DELETE FROM job WHERE id = \(id) AND state IN ('done', 'failed') RETURNING id").isEmpty
    }

    public func counts() async throws -> [Job.State: Int] {
        var counts = Dictionary(uniqueKeysWithValues: Job.State.allCases.map { ($0, 0) })
        // Kept by a trigger (migrations 3 and 4): four rows plus the deltas since the last fold,
        // however long the history.
        for row in try await query(
            """
            SELECT state, sum(n)::bigint FROM (SELECT state, n FROM job_count UNION ALL SELECT state, n FROM job_count_delta) AS c
            GROUP BY state
            """)
        {
            let (state, count) = try row.decode((String, Int).self)
            guard let state = Job.State(rawValue: state) else { continue }
            counts[state] = count
        }
        return counts
    }

    /// How many times a claim that collided with another node's (two jobs of the same content
    /// claimed at once) is tried again before this one reports nothing to claim.
    static let claimAttempts = 5

    public func claim(owner: String, now: Date) async throws -> Job? {
        for _ in 0..<Self.claimAttempts {
            do {
                return try await rawQuery(
                    """
                    UPDATE job SET state = 'running', attempts = attempts + 1, chunks_at_claim = chunks_done,
                        lease_owner = \(owner), node = \(Job.node(ofOwner: owner)), lease_token = lease_token + 1, heartbeat_at = now(),
                        started_at = \(now.millis), updated_at = \(now.millis)
                    WHERE id = (
                        SELECT id FROM job
                        WHERE state = 'queued' AND not_before <= \(now.millis)
                            AND sha256 NOT IN (SELECT sha256 FROM job WHERE state = 'running')
                        ORDER BY cancel_requested DESC, priority DESC, not_before, id
                        LIMIT 1 FOR UPDATE SKIP LOCKED)
                    RETURNING *
                    """
                ).first.map(Self.job)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresSchema.uniqueViolation {
                // Another node claimed a job of the same content at the same moment: the
                // partial unique index refused this one. Look again.
                continue
            } catch {
                throw Self.failure(error, settings: settings)
            }
        }
        return nil
    }

    public func nextDue() async throws -> Date? {
        try await query(
            """
            SELECT min(not_before) FROM job
            WHERE state = 'queued' AND sha256 NOT IN (SELECT sha256 FROM job WHERE state = 'running')
            """
        ).first?.decode(Date?.self)
    }

    public func heartbeat(_ lease: Lease, progress: TranscriptionProgress?, now: Date) async throws {
        if let progress {
            try await update(
                lease,
                """
                heartbeat_at = now(), updated_at = \(now.millis), chunks_done = \(progress.chunksDone),
                chunks_total = \(progress.chunksTotal), audio_done = \(progress.audioDone), audio_total = \(progress.audioTotal)
                """)
        } else {
            try await update(lease, "heartbeat_at = now(), updated_at = \(now.millis)")
        }
    }

    public func setOutputStem(_ lease: Lease, stem: FileName) async throws {
        try await update(lease, try "output_stem = \(Data(stem.bytes))")
    }

    public func markDone(_ lease: Lease, webhooks: [WebhookDelivery], now: Date) async throws {
        try await update(
            lease,
            "state = 'done', last_error = NULL, waiting_for = NULL, lease_owner = NULL, finished_at = \(now.millis), updated_at = \(now.millis)",
            adding: webhooks)
    }

    public func markFailed(_ lease: Lease, reason: String, webhooks: [WebhookDelivery], now: Date) async throws {
        try await update(
            lease,
            """
            state = 'failed', last_error = \(reason), waiting_for = NULL, lease_owner = NULL, finished_at = \(now.millis),
            updated_at = \(now.millis)
            """,
            adding: webhooks)
    }

    public func retryLater(_ lease: Lease, reason: String, notBefore: Date, now: Date) async throws {
        try await update(
            lease,
            """
            state = 'queued', last_error = \(reason), waiting_for = NULL, lease_owner = NULL, not_before = \(notBefore.millis),
            updated_at = \(now.millis)
            """)
    }

    public func waitForResource(_ lease: Lease, reason: String, notBefore: Date, now: Date) async throws {
        try await update(
            lease,
            """
            state = 'queued', last_error = \(reason), waiting_for = \(reason), lease_owner = NULL, attempts = attempts - 1,
            not_before = \(notBefore.millis), updated_at = \(now.millis)
            """)
    }

    public func release(_ lease: Lease, now: Date) async throws {
        try await update(lease, "state = 'queued', lease_owner = NULL, attempts = attempts - 1, updated_at = \(now.millis)")
    }

    public func setFinalName(_ id: Int64, _ name: FileName) async throws {
        try await query(try "UPDATE job SET final_name = \(Data(name.bytes)) WHERE id = \(id)")
    }

    @discardableResult
    public func requeueOrphans(owner: String, isDead: @escaping @Sendable (String) -> Bool, now: Date) async throws -> [Job] {
        let leaseSeconds = leaseDuration.seconds
        let requeued = try await transaction { connection in
            // Rows another node is sweeping (or writing) right now are left to it.
            let running = try await connection.query(
                """
                SELECT *, heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => \(leaseSeconds)) AS expired
                FROM job WHERE state = 'running' AND lease_owner IS DISTINCT FROM \(owner)
                ORDER BY id FOR UPDATE SKIP LOCKED
                """, logger: Self.quiet
            ).collect()
            var requeued: [Job] = []
            for row in running {
                var job = try Self.job(row)
                let expired = try row.makeRandomAccess()["expired"].decode(Bool.self)
                guard expired || isDead(job.leaseOwner ?? "") else { continue }
                job.requeueAsOrphan(now: now)
                try await connection.query(
                    """
                    UPDATE job SET state = 'queued', lease_owner = NULL, attempts = \(job.attempts), last_error = \(job.lastError),
                        updated_at = \(now.millis)
                    WHERE id = \(job.id)
                    """, logger: Self.quiet)
                requeued.append(job)
            }
            return requeued
        }
        try await compactCounts()
        return requeued
    }

    /// Folds the count deltas state changes inserted (migration 4) into `job_count`, in one
    /// statement, so `counts()` keeps reading a handful of rows. One node folds at a time; a node
    /// that finds another folding leaves it to that one. Deltas committed after the fold's
    /// snapshot stay for the next one.
    func compactCounts() async throws {
        _ = try await query(
            """
            WITH fold AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(\(PostgresSchema.countCompactionLock)) AS held),
            folded AS (DELETE FROM job_count_delta WHERE (SELECT held FROM fold) RETURNING state, n),
            sums AS (SELECT state, sum(n) AS n FROM folded GROUP BY state)
            UPDATE job_count SET n = job_count.n + sums.n FROM sums WHERE job_count.state = sums.state
            """)
    }

    public func requeueFailed(_ id: Int64, now: Date) async throws {
        try await query(
            """
            UPDATE job SET state = 'queued', attempts = 0, last_error = NULL, cancel_requested = false, final_name = NULL,
                finished_at = NULL, not_before = \(now.millis), updated_at = \(now.millis)
            WHERE id = \(id)
            """)
    }

    /// Applies `assignments` (SQL `column = value, …`) to the running job of `lease` only if the
    /// lease is still its, and in the same transaction inserts `webhooks` (only if it was).
    private func update(_ lease: Lease, _ assignments: PostgresQuery, adding webhooks: [WebhookDelivery] = []) async throws {
        var statement = assignments
        statement.sql =
            "UPDATE job SET \(assignments.sql) WHERE id = $\(assignments.binds.count + 1)"
            + " AND state = 'running' AND lease_owner = $\(assignments.binds.count + 2) AND lease_token = $\(assignments.binds.count + 3)"
            + " RETURNING id"
        statement.binds.append(lease.jobID)
        statement.binds.append(lease.owner)
        statement.binds.append(lease.token)
        let final = statement
        let changed: Bool
        if webhooks.isEmpty {
            changed = try await !query(final).isEmpty
        } else {
            let inserts = try webhooks.map(Self.insert)
            changed = try await transaction { connection in
                guard try await !connection.query(final, logger: Self.quiet).collect().isEmpty else { return false }
                for insert in inserts { try await connection.query(insert, logger: Self.quiet) }
                return true
            }
        }
        if !changed { throw HearingAIError.leaseLost(lease) }
    }

    // MARK: - Checkpoints and results

    public func checkpoints(resultKey: String) -> any ChunkCheckpoints {
        PostgresCheckpoints(queue: self, resultKey: resultKey)
    }

    public func result(_ resultKey: String) async throws -> Transcript? {
        guard let row = try await query("SELECT transcript FROM result WHERE result_key = \(resultKey)").first else { return nil }
        let data = try row.decode(Data.self)
        return try JSONDecoder().decode(Transcript.self, from: data)
    }

    public func storeResult(_ transcript: Transcript, resultKey: String, now: Date) async throws {
        let upsert: PostgresQuery = try """
        INSERT INTO result (result_key, transcript, created_at) VALUES (\(resultKey), \(try JSONEncoder().encode(transcript)), \(now.millis))
        ON CONFLICT (result_key) DO UPDATE SET transcript = EXCLUDED.transcript, created_at = EXCLUDED.created_at
        """
        try await transaction { connection in
            try await connection.query(upsert, logger: Self.quiet)
            try await connection.query("DELETE FROM checkpoint WHERE result_key = \(resultKey)", logger: Self.quiet)
        }
    }

    // MARK: - Statements and transactions

    /// One statement, in a transaction of its own, with its rows; failures as ``HearingAIError``s.
    @discardableResult
    func query(_ statement: PostgresQuery) async throws -> [PostgresRow] {
        do {
            return try await rawQuery(statement)
        } catch {
            throw Self.failure(error, settings: settings)
        }
    }

    /// One statement, with postgres-nio's errors as they are.
    private func rawQuery(_ statement: PostgresQuery) async throws -> [PostgresRow] {
        let client = self.client
        // A task of its own: the statement runs even if the caller is being cancelled.
        return try await Task { try await client.query(statement, logger: Self.quiet).collect() }.value
    }

    /// A transaction on one connection: committed if `body` returns, rolled back if it throws.
    @discardableResult
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = self.client
        do {
            return try await Task {
                try await client.withConnection { connection in
                    try await connection.query("BEGIN", logger: Self.quiet)
                    do {
                        let value = try await body(connection)
                        try await connection.query("COMMIT", logger: Self.quiet)
                        return value
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: Self.quiet)
                        throw error
                    }
                }
            }.value
        } catch {
            throw Self.failure(error, settings: settings)
        }
    }

    /// `error` as a one-line ``HearingAIError`` naming the database (never the password); a
    /// ``HearingAIError`` (a lost lease) is passed on.
    static func failure(_ error: any Error, settings: PostgresSettings, doing: String? = nil) -> HearingAIError {
        if let error = error as? HearingAIError { return error }
        var reason = describe(error)
        if let doing { reason = "\(doing) (\(settings.description)): \(reason)" }
        reason = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
        if let password = settings.password, !password.isEmpty {
            for form in Set([password, password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password]) {
                reason = reason.replacingOccurrences(of: form, with: "***")
            }
        }
        return HearingAIError(.queueFailed, reason: reason)
    }

    /// What went wrong, in a line: the server's message and SQLSTATE, or the client's failure.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as PSQLError:
            if let info = error.serverInfo {
                var text = info[.message] ?? "the server reported an error"
                if let detail = info[.detail] { text += " (\(detail))" }
                if let state = info[.sqlState] { text += " [SQLSTATE \(state)]" }
                return text
            }
            if error.code == .sslUnsupported { return "the server does not offer TLS, which sslmode asks for" }
            var text = "\(error.code)"
            if let underlying = error.underlying { text += ": \(describe(underlying))" }
            return text
        case let error as PostgresTransactionError:
            return describe(error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? error)
        case let error as PostgresDecodingError:
            return "a stored value does not decode (column \(error.columnName), \(error.code))"
        default:
            // The pool's own errors (ConnectionPoolError, from a module this one does not import).
            let text = String(describing: error)
            if text.contains("poolShutdown") { return "the queue is closed" }
            if text.contains("connectionCreationCircuitBreakerTripped") {
                return "no connection to the database server could be made for a minute"
            }
            if text.contains("requestCancelled") { return "cancelled while waiting for a connection" }
            return text
        }
    }
}

/// Chunk checkpoints in the PostgreSQL queue, for one run.
struct PostgresCheckpoints: ChunkCheckpoints {
    let queue: PostgresJobQueue
    let resultKey: String

    func load(chunk index: Int) async -> DecodedChunk? {
        guard
            let row = try? await queue.query("SELECT words FROM checkpoint WHERE result_key = \(resultKey) AND chunk = \(index)").first,
            let data = try? row.decode(Data.self)
        else { return nil }
        return CheckpointCoding.decode(data, chunk: index, logger: queue.logger)
    }

    func store(_ chunk: DecodedChunk, chunk index: Int) async throws {
        try await queue.query(
            try """
            INSERT INTO checkpoint (result_key, chunk, words) VALUES (\(resultKey), \(index), \(try CheckpointCoding.encode(chunk)))
            ON CONFLICT (result_key, chunk) DO UPDATE SET words = EXCLUDED.words
            """)
    }
}
