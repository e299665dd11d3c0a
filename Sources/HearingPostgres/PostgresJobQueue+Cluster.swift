public import Foundation
import HearingAI
public import HearingIngest
import Logging
import PostgresNIO
import Synchronization

extension PostgresJobQueue: SharedJobQueue {
    /// How long a node's row outlives its last heartbeat before any node's heartbeat removes it.
    static let nodeRetention: Double = 86_400

    public func nodeHeartbeat(_ node: ClusterNode) async throws {
        try await transaction { connection in
            try await connection.query(
                """
                INSERT INTO node (owner, name, version, memory_limit, lists_inbox)
                VALUES (\(node.owner), \(node.name), \(node.version), \(node.memoryLimit), \(node.listsInbox))
                ON CONFLICT (owner) DO UPDATE SET heartbeat_at = now(), name = EXCLUDED.name, version = EXCLUDED.version,
                    memory_limit = EXCLUDED.memory_limit, lists_inbox = EXCLUDED.lists_inbox
                """, logger: Self.quiet)
            try await connection.query(
                "DELETE FROM node WHERE heartbeat_at < now() - make_interval(secs => \(Self.nodeRetention))", logger: Self.quiet)
        }
    }

    public func nodeLeft(owner: String) async throws {
        try await query("DELETE FROM node WHERE owner = \(owner)")
    }

    public func nodes() async throws -> [ClusterNode] {
        try await query(
            """
            SELECT owner, name, version, memory_limit, lists_inbox, started_at,
                EXTRACT(EPOCH FROM now() - heartbeat_at)::double precision AS age
            FROM node ORDER BY started_at, owner
            """
        ).map { row in
            let (owner, name, version, memoryLimit, listsInbox, startedAt, age) = try row.decode(
                (String, String, String, Int?, Bool, Date, Double).self)
            var node = ClusterNode(name: name, owner: owner, version: version, memoryLimit: memoryLimit, listsInbox: listsInbox)
            node.startedAt = startedAt
            node.secondsSinceHeartbeat = max(0, age)
            return node
        }
    }

    /// Listens on a connection of its own, outside the pool (a pooled connection goes back to
    /// others; PgBouncer in transaction mode forwards no notifications at all: use `poll_only`).
    public func listenForClaimableJobs(onConnect: @escaping @Sendable () -> Void, wake: @escaping @Sendable () -> Void) async throws {
        var backoff: Duration = .milliseconds(250)
        var reportedOutage = false
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: try settings.connectionConfiguration(), id: 1, logger: Self.quiet)
                do {
                    try await connection.listen(on: PostgresSchema.jobChannel) { notifications in
                        if reportedOutage {
                            logger?.info("Listening for queued jobs again")
                            reportedOutage = false
                        }
                        backoff = .milliseconds(250)
                        onConnect()
                        // Ends when the task is cancelled; throws when the connection drops.
                        for try await _ in notifications { wake() }
                    }
                    try? await connection.close()
                } catch {
                    try? await connection.close()
                    throw error
                }
            } catch {
                if Task.isCancelled { break }
                if !reportedOutage {
                    logger?.warning(
                        "Not listening for queued jobs; polling until the database is back",
                        metadata: ["error": "\(Self.failure(error, settings: settings).reason)"])
                    reportedOutage = true
                }
            }
            if Task.isCancelled { break }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(30))
        }
    }

    /// Holds a session advisory lock on a connection of its own: PostgreSQL releases it when
    /// the session ends, so a lister killed or cut off frees it without anyone's help. While
    /// holding it the connection is checked every `retry`; a failed check means the hold may be
    /// gone, and listing stops before anything else is done.
    public func leadInboxListing(retry: Duration, changed: @escaping @Sendable (Bool) -> Void) async throws {
        var reportedOutage = false
        while !Task.isCancelled {
            var leading = false
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: try settings.connectionConfiguration(), id: 2, logger: Self.quiet)
                reportedOutage = false
                do {
                    while !Task.isCancelled {
                        if leading {
                            // A query on a connection the server has closed may never answer:
                            // the check has a deadline of its own.
                            guard !connection.isClosed, try await Self.answers(connection, within: retry) else {
                                throw HearingAIError(.queueFailed, reason: "the connection holding the inbox listing is gone")
                            }
                        } else {
                            let rows = try await connection.query(
                                "SELECT pg_try_advisory_lock(\(PostgresSchema.inboxListingLock))", logger: Self.quiet
                            ).collect()
                            if try rows.first?.decode(Bool.self) == true {
                                leading = true
                                changed(true)
                            }
                        }
                        try await Task.sleep(for: retry)
                    }
                } catch {
                    if leading {
                        leading = false
                        changed(false)
                    }
                    try? await connection.close()
                    if Task.isCancelled { break }
                    throw error
                }
                // Cancelled: give the lock up at once rather than when the session ends.
                if leading {
                    _ = try? await connection.query(
                        "SELECT pg_advisory_unlock(\(PostgresSchema.inboxListingLock))", logger: Self.quiet
                    ).collect()
                    changed(false)
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { break }
                if !reportedOutage {
                    logger?.warning(
                        "Cannot hold the inbox listing; another node lists it, or none until the database is back",
                        metadata: ["error": "\(Self.failure(error, settings: settings).reason)"])
                    reportedOutage = true
                }
                try? await Task.sleep(for: retry)
            }
        }
    }

    /// Whether `connection` answers `SELECT 1` within `deadline`. The query runs in a task of
    /// its own, left behind if it never answers (closing the connection ends it).
    static func answers(_ connection: PostgresConnection, within deadline: Duration) async throws -> Bool {
        let outcome = Mutex<CheckedContinuation<Bool, Never>?>(nil)
        return await withCheckedContinuation { continuation in
            outcome.withLock { $0 = continuation }
            let finish: @Sendable (Bool) -> Void = { answered in
                outcome.withLock { $0.take() }?.resume(returning: answered)
            }
            Task {
                let answered = (try? await connection.query("SELECT 1", logger: quiet).collect()) != nil
                finish(answered)
            }
            Task {
                try? await Task.sleep(for: deadline)
                finish(false)
            }
        }
    }
}
