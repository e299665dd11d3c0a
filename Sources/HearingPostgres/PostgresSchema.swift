import Foundation
import HearingAI
import HearingIngest
import PostgresNIO

/// The PostgreSQL queue's tables, as versioned plain-SQL migrations.
///
/// Applied versions are rows of `hearingai_schema`. Migrating takes a transaction-scoped advisory
/// lock first, so of several nodes starting at once one migrates and the others, once it has
/// committed, find nothing left to do. A database migrated by a newer HearingAI (a version this
/// one does not know) is refused rather than used.
enum PostgresSchema {
    /// The advisory lock key migrations hold ("HEARINGA" in ASCII).
    static let migrationLock: Int64 = 5_207_640_365_796_837_185

    /// SQLSTATE of a unique violation.
    static let uniqueViolation = "23505"

    /// Each version's statements, in order; a version is never edited once released, only added.
    static let migrations: [(version: Int, name: String, statements: [String])] = [
        (
            1, "jobs, checkpoints, results, webhook outbox",
            [
                """
                CREATE TABLE job (
                    id bigserial PRIMARY KEY,
                    name bytea NOT NULL,
                    work_dir text NOT NULL UNIQUE,
                    size bigint NOT NULL,
                    mtime_ns bigint NOT NULL,
                    sha256 text NOT NULL,
                    state text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
                    attempts bigint NOT NULL DEFAULT 0,
                    lease_owner text,
                    lease_token bigint NOT NULL DEFAULT 0,
                    heartbeat_at timestamptz,
                    not_before timestamptz NOT NULL,
                    last_error text,
                    chunks_done bigint NOT NULL DEFAULT 0,
                    chunks_at_claim bigint NOT NULL DEFAULT 0,
                    chunks_total bigint NOT NULL DEFAULT 0,
                    audio_done double precision NOT NULL DEFAULT 0,
                    audio_total double precision NOT NULL DEFAULT 0,
                    output_stem bytea,
                    final_name bytea,
                    waiting_for text,
                    created_at timestamptz NOT NULL,
                    started_at timestamptz,
                    updated_at timestamptz NOT NULL,
                    finished_at timestamptz,
                    origin text NOT NULL DEFAULT 'inbox',
                    priority bigint NOT NULL DEFAULT 0,
                    cancel_requested boolean NOT NULL DEFAULT false
                )
                """,
                // The claim's scan (and counts by state).
                "CREATE INDEX job_due ON job (state, not_before)",
                // One running job per content, whatever the nodes do at once.
                "CREATE UNIQUE INDEX job_running_content ON job (sha256) WHERE state = 'running'",
                """
                CREATE TABLE checkpoint (
                    result_key text NOT NULL,
                    chunk bigint NOT NULL,
                    words bytea NOT NULL,
                    PRIMARY KEY (result_key, chunk)
                )
                """,
                """
                CREATE TABLE result (
                    result_key text PRIMARY KEY,
                    transcript bytea NOT NULL,
                    created_at timestamptz NOT NULL
                )
                """,
                """
                CREATE TABLE webhook_delivery (
                    id bigserial PRIMARY KEY,
                    event_id text NOT NULL,
                    event text NOT NULL,
                    job_id bigint NOT NULL,
                    url text NOT NULL,
                    body bytea NOT NULL,
                    state text NOT NULL CHECK (state IN ('pending', 'delivered', 'gave_up')),
                    attempts bigint NOT NULL DEFAULT 0,
                    not_before timestamptz NOT NULL,
                    last_error text,
                    last_status bigint,
                    created_at timestamptz NOT NULL,
                    updated_at timestamptz NOT NULL,
                    delivered_at timestamptz,
                    UNIQUE (event_id, url)
                )
                """,
                "CREATE INDEX webhook_delivery_job ON webhook_delivery (job_id)",
                "CREATE INDEX webhook_delivery_due ON webhook_delivery (state, not_before)",
            ]
        ),
        (
            2, "nodes, the node of each job, notifications of claimable jobs",
            [
                "ALTER TABLE job ADD COLUMN node text",
                // One row per running service; its heartbeat is the database's clock.
                """
                CREATE TABLE node (
                    owner text PRIMARY KEY,
                    name text NOT NULL,
                    version text NOT NULL,
                    memory_limit bigint,
                    lists_inbox boolean NOT NULL DEFAULT false,
                    started_at timestamptz NOT NULL DEFAULT now(),
                    heartbeat_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                // Wakes idle nodes (LISTEN hearingai_job_queued) when a job becomes claimable:
                // queued, retried, or given back. One transaction's notifications of one payload
                // are delivered once.
                """
                CREATE FUNCTION hearingai_job_queued() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('hearingai_job_queued', '');
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER job_queued AFTER INSERT OR UPDATE OF state, not_before ON job
                FOR EACH ROW WHEN (NEW.state = 'queued') EXECUTE FUNCTION hearingai_job_queued()
                """,
            ]
        ),
        (
            3, "job counts by state, kept by a trigger",
            [
                // `count(*) … GROUP BY state` reads every row: over a month of 100,000 files a day
                // that is a second per call, and every node's metrics ask every 15 s.
                "CREATE TABLE job_count (state text PRIMARY KEY, n bigint NOT NULL)",
                """
                INSERT INTO job_count (state, n)
                SELECT s, (SELECT count(*) FROM job WHERE state = s) FROM unnest(ARRAY['queued', 'running', 'done', 'failed']) AS s
                """,
                // One statement per change, locking both rows in one scan: transactions that
                // change jobs never wait for each other in opposite orders.
                """
                CREATE FUNCTION hearingai_job_count() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'INSERT' THEN
                        UPDATE job_count SET n = n + 1 WHERE state = NEW.state;
                    ELSIF TG_OP = 'DELETE' THEN
                        UPDATE job_count SET n = n - 1 WHERE state = OLD.state;
                    ELSIF NEW.state IS DISTINCT FROM OLD.state THEN
                        UPDATE job_count SET n = n + CASE WHEN state = NEW.state THEN 1 ELSE -1 END
                        WHERE state IN (OLD.state, NEW.state);
                    END IF;
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER job_count AFTER INSERT OR DELETE OR UPDATE OF state ON job
                FOR EACH ROW EXECUTE FUNCTION hearingai_job_count()
                """,
            ]
        ),
        (
            4, "job counts as insert-only deltas",
            [
                // Migration 3's trigger updated `job_count` rows, so two transactions changing
                // jobs could lock them in opposite orders (the requeue sweep changes many jobs in
                // one transaction) and deadlock. A change now only inserts its deltas, which
                // nothing else locks; `counts()` adds them to `job_count`, and the sweeper folds
                // them in (``PostgresJobQueue/compactCounts()``).
                "CREATE TABLE job_count_delta (state text NOT NULL, n bigint NOT NULL)",
                """
                CREATE OR REPLACE FUNCTION hearingai_job_count() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'INSERT' THEN
                        INSERT INTO job_count_delta (state, n) VALUES (NEW.state, 1);
                    ELSIF TG_OP = 'DELETE' THEN
                        INSERT INTO job_count_delta (state, n) VALUES (OLD.state, -1);
                    ELSIF NEW.state IS DISTINCT FROM OLD.state THEN
                        INSERT INTO job_count_delta (state, n) VALUES (OLD.state, -1), (NEW.state, 1);
                    END IF;
                    RETURN NULL;
                END
                $$
                """,
            ]
        ),
    ]

    /// The transaction-scoped advisory lock one node holds while folding count deltas into
    /// `job_count` ("HEARINGC"): two folds at once could wait on each other's delta rows.
    static let countCompactionLock: Int64 = 5_207_640_365_796_837_187

    /// The session advisory lock the node that lists the shared inbox holds ("HEARINGI").
    static let inboxListingLock: Int64 = 5_207_640_365_796_837_193

    /// The channel a claimable job is announced on (by migration 2's trigger).
    static let jobChannel = "hearingai_job_queued"

    /// Applies the migrations `connection`'s database lacks, in one transaction under the
    /// advisory lock. Returns the versions it applied.
    @discardableResult
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS hearingai_schema (
                    version bigint PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var applied = Set<Int>()
            for try await version in try await connection.query("SELECT version FROM hearingai_schema", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
            let known = Set(migrations.map(\.version))
            if let unknown = applied.subtracting(known).max() {
                throw HearingAIError(
                    .queueFailed,
                    reason:
                        "the database's schema is at version \(unknown), newer than this HearingAI knows (\(known.max() ?? 0)); upgrade HearingAI"
                )
            }
            var done: [Int] = []
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO hearingai_schema (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                done.append(migration.version)
            }
            try await connection.query("COMMIT", logger: logger)
            return done
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}

extension PostgresJobQueue {
    /// A `job` row as a ``Job``.
    static func job(_ row: PostgresRow) throws -> Job {
        let row = row.makeRandomAccess()
        func value<T: PostgresDecodable>(_ column: String, _ type: T.Type = T.self) throws -> T {
            try row[column].decode(T.self)
        }
        func enumeration<T: RawRepresentable>(_ column: String, _ type: T.Type) throws -> T where T.RawValue == String {
            let raw = try value(column, String.self)
            guard let decoded = T(rawValue: raw) else {
                throw HearingAIError(.queueFailed, reason: "job.\(column) holds \"\(raw)\", which this HearingAI does not know")
            }
            return decoded
        }
        var job = Job(
            name: FileName(bytes: []), workDir: try value("work_dir"), size: try value("size"), mtimeNs: try value("mtime_ns"),
            sha256: try value("sha256"), origin: try enumeration("origin", Job.Origin.self), now: try value("created_at"))
        job.id = try value("id")
        job.name = try value("name")
        job.state = try enumeration("state", Job.State.self)
        job.attempts = try value("attempts")
        job.leaseOwner = try value("lease_owner")
        job.leaseToken = try value("lease_token")
        job.heartbeatAt = try value("heartbeat_at")
        job.notBefore = try value("not_before")
        job.lastError = try value("last_error")
        job.chunksDone = try value("chunks_done")
        job.chunksAtClaim = try value("chunks_at_claim")
        job.chunksTotal = try value("chunks_total")
        job.audioDone = try value("audio_done")
        job.audioTotal = try value("audio_total")
        job.outputStem = try value("output_stem")
        job.finalName = try value("final_name")
        job.waitingFor = try value("waiting_for")
        job.startedAt = try value("started_at")
        job.updatedAt = try value("updated_at")
        job.finishedAt = try value("finished_at")
        job.priority = try value("priority")
        job.cancelRequested = try value("cancel_requested")
        job.node = try value("node")
        return job
    }

    /// A `webhook_delivery` row as a ``WebhookDelivery``.
    static func delivery(_ row: PostgresRow) throws -> WebhookDelivery {
        let row = row.makeRandomAccess()
        func value<T: PostgresDecodable>(_ column: String, _ type: T.Type = T.self) throws -> T {
            try row[column].decode(T.self)
        }
        let rawState = try value("state", String.self)
        guard let state = WebhookDelivery.State(rawValue: rawState) else {
            throw HearingAIError(.queueFailed, reason: "webhook_delivery.state holds \"\(rawState)\", which this HearingAI does not know")
        }
        let event = WebhookEvent(type: .jobCompleted, jobID: 0, source: "")
        var delivery = WebhookDelivery(event: event, body: Data(), url: "", now: try value("created_at"))
        delivery.id = try value("id")
        delivery.eventID = try value("event_id")
        delivery.event = try value("event")
        delivery.jobID = try value("job_id")
        delivery.url = try value("url")
        delivery.body = try value("body")
        delivery.state = state
        delivery.attempts = try value("attempts")
        delivery.notBefore = try value("not_before")
        delivery.lastError = try value("last_error")
        delivery.lastStatus = try value("last_status")
        delivery.updatedAt = try value("updated_at")
        delivery.deliveredAt = try value("delivered_at")
        return delivery
    }

    /// The statement that adds `delivery` to the outbox.
    static func insert(_ delivery: WebhookDelivery) throws -> PostgresQuery {
        try """
        INSERT INTO webhook_delivery (event_id, event, job_id, url, body, state, attempts, not_before, last_error, last_status,
            created_at, updated_at, delivered_at)
        VALUES (\(delivery.eventID), \(delivery.event), \(delivery.jobID), \(delivery.url), \(delivery.body),
            \(delivery.state.rawValue), \(delivery.attempts), \(delivery.notBefore.millis), \(delivery.lastError), \(delivery.lastStatus),
            \(delivery.createdAt.millis), \(delivery.updatedAt.millis), \(delivery.deliveredAt?.millis))
        """
    }
}

extension Date {
    /// The date as SQLite's queue stores it: to the millisecond, truncated (GRDB's
    /// `yyyy-MM-dd HH:mm:ss.SSS`). Every date a caller gives is stored and compared so, so that
    /// both backends order jobs made in the same millisecond alike (by id).
    var millis: Date { Date(timeIntervalSince1970: (timeIntervalSince1970 * 1000).rounded(.down) / 1000) }
}
