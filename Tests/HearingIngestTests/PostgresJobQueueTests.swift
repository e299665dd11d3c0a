import Foundation
import HearingAI
import PostgresNIO
import Synchronization
import TestSupport
import Testing

@testable import HearingIngest
@testable import HearingPostgres

/// What only the PostgreSQL queue has: several nodes on one database (concurrent migrations and
/// claims through separate pools), leases timed by the database's clock, and connection errors
/// that never show the password. The shared contract is in JobQueueContractTests.
@Suite("PostgreSQL job queue", .enabled(if: PostgresTestDatabase.clusterURL != nil, Comment(rawValue: PostgresTestDatabase.skipped)))
struct PostgresJobQueueTests {
    static func job(_ n: Int, sha: String? = nil) -> Job {
        Job(name: FileName("take \(n).wav"), workDir: "w\(n)", size: 100, mtimeNs: 1, sha256: sha ?? "sha\(n)")
    }

    @Test("Migrations run once when four nodes open the same new database at once (advisory lock)")
    func concurrentMigrations() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }

        // The migration itself, on four connections at once: exactly one applies version 1.
        let settings = try PostgresSettings(url: database.url)
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for n in 0..<4 {
                group.addTask {
                    let connection = try await PostgresConnection.connect(
                        configuration: try settings.connectionConfiguration(), id: n, logger: PostgresJobQueue.quiet)
                    let applied = try await PostgresSchema.migrate(connection, logger: PostgresJobQueue.quiet)
                    try? await connection.close()
                    return applied
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(applied.sorted { $0.count < $1.count } == [[], [], [], PostgresSchema.migrations.map(\.version)])

        // Four queues opened at once on a second new database all open, and share one schema.
        let second = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(second.name) } }
        let queues = try await withThrowingTaskGroup(of: PostgresJobQueue.self) { group in
            for _ in 0..<4 { group.addTask { try await PostgresJobQueue(url: second.url) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(queues.count == 4)
        #expect(
            try await PostgresTestDatabase.values("SELECT version FROM hearingai_schema ORDER BY version", in: second.name, as: Int.self)
                == PostgresSchema.migrations.map(\.version))
        try await queues[0].enqueue(Self.job(1))
        #expect(try await queues[3].job(1)?.workDir == "w1")
        for queue in queues { await queue.close() }
    }

    /// Counts calls, and waits for a count.
    final class Counter: Sendable {
        private let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
        /// Whether the count reached `target` within `seconds`.
        func reaches(_ target: Int, within seconds: Double) async -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while count < target, Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            return count >= target
        }
    }

    /// An idle node listening for claimable jobs and a busy one that queues them, on a new
    /// database, once the listener is connected.
    struct Listening {
        let database: (name: String, url: String)
        let idle: PostgresJobQueue
        let busy: PostgresJobQueue
        let connects = Counter()
        let wakes = Counter()
        let listener: Task<Void, any Error>

        init() async throws {
            database = try await PostgresTestDatabase.create()
            idle = try await PostgresJobQueue(url: database.url)
            busy = try await PostgresJobQueue(url: database.url)
            let (idle, connects, wakes) = (self.idle, self.connects, self.wakes)
            listener = Task { try await idle.listenForClaimableJobs(onConnect: { connects.increment() }, wake: { wakes.increment() }) }
            #expect(await connects.reaches(1, within: 10), "onConnect once listening")
            // Give LISTEN a moment to be registered before the first notification.
            try await Task.sleep(for: .milliseconds(200))
        }

        func stop() async throws {
            listener.cancel()
            try await listener.value
            await idle.close()
            await busy.close()
            await PostgresTestDatabase.drop(database.name)
        }
    }

    @Test("An idle node is woken (LISTEN/NOTIFY) when another queues a job, retries one or gives one back; not by heartbeats")
    func listenWakesIdleNodes() async throws {
        let listening = try await Listening()
        let (busy, wakes) = (listening.busy, listening.wakes)
        #expect(wakes.count == 0)

        try await busy.enqueue(Self.job(1))
        #expect(await wakes.reaches(1, within: 2), "woken by another node's enqueue")
        let job = try #require(try await busy.claim(owner: "busy:1:1"))
        let lease = try #require(job.lease)
        for _ in 0..<5 { try await busy.heartbeat(lease, progress: nil, now: Date()) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(wakes.count == 1, "claims and heartbeats wake nobody")
        try await busy.release(lease, now: Date())
        #expect(await wakes.reaches(2, within: 2), "woken when a job is given back")
        let again = try #require(try await busy.claim(owner: "busy:1:1"))
        try await busy.retryLater(try #require(again.lease), reason: "x", notBefore: Date(), now: Date())
        #expect(await wakes.reaches(3, within: 2), "woken when a job is retried")
        try await listening.stop()
    }

    @Test("A listening connection the server drops is reconnected; onConnect says so, and wakes come again")
    func listenReconnects() async throws {
        let listening = try await Listening()
        let name = listening.database.name
        let terminated = try await PostgresTestDatabase.values(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(name)' AND query LIKE 'LISTEN%'",
            in: name, as: Bool.self)
        #expect(terminated == [true], "one listening backend")
        #expect(await listening.connects.reaches(2, within: 10), "listening again after the connection was dropped")
        try await Task.sleep(for: .milliseconds(200))
        try await listening.busy.enqueue(Self.job(1))
        #expect(await listening.wakes.reaches(1, within: 2), "woken on the new connection")
        try await listening.stop()
    }

    /// Records the leadership changes a node is told of.
    final class Leadership: Sendable {
        private let changes = Mutex<[Bool]>([])
        func record(_ leading: Bool) { changes.withLock { $0.append(leading) } }
        var history: [Bool] { changes.withLock { $0 } }
        var leading: Bool { history.last ?? false }
        func becomes(_ leading: Bool, within seconds: Double) async -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while self.leading != leading, Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            return self.leading == leading
        }
    }

    @Test("One node lists the inbox at a time; a stop hands it over, and so does a lister whose connection dies")
    func inboxListingLeadership() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let queues = [try await PostgresJobQueue(url: database.url), try await PostgresJobQueue(url: database.url)]
        let states = [Leadership(), Leadership()]
        var tasks = (0..<2).map { i in
            Task { try await queues[i].leadInboxListing(retry: .milliseconds(200)) { states[i].record($0) } }
        }
        let deadline = Date().addingTimeInterval(10)
        while !states.contains { $0.leading }, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(600))
        #expect(states.filter { $0.leading }.count == 1, "exactly one lister: \(states.map(\.history))")
        let first = try #require(states.firstIndex { $0.leading })
        let second = 1 - first

        // A graceful stop gives the listing up at once.
        tasks[first].cancel()
        try await tasks[first].value
        #expect(states[first].history == [true, false])
        #expect(await states[second].becomes(true, within: 5), "the other node takes the listing over")

        // The lister's connection is cut: it says it no longer lists, and the other (restarted)
        // node takes over; the cut one keeps trying and does not list alongside.
        tasks[first] = Task { try await queues[first].leadInboxListing(retry: .milliseconds(200)) { states[first].record($0) } }
        try await Task.sleep(for: .milliseconds(600))
        #expect(states[first].history == [true, false], "no second lister while one holds it")
        let terminated = try await PostgresTestDatabase.values(
            """
            SELECT pg_terminate_backend(l.pid) FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.granted AND l.objid = \(UInt32(truncatingIfNeeded: PostgresSchema.inboxListingLock))
            """, in: database.name, as: Bool.self)
        #expect(terminated == [true], "one backend holds the listing lock")
        #expect(await states[second].becomes(false, within: 5), "the cut lister stops listing")
        #expect(await states[first].becomes(true, within: 5), "the waiting node takes over")
        try await Task.sleep(for: .milliseconds(600))
        #expect(states.filter { $0.leading }.count == 1, "still one lister: \(states.map(\.history))")

        for task in tasks { task.cancel() }
        for task in tasks { try await task.value }
        #expect(!states.contains { $0.leading })
        for queue in queues { await queue.close() }
    }

    @Test("Nodes: a heartbeat adds or refreshes a node's row by the database's clock, a graceful stop removes it, day-old rows go")
    func nodeRows() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let queue = try await PostgresJobQueue(url: database.url)
        #expect(try await queue.nodes().isEmpty)
        let a = ClusterNode(name: "a", owner: "a:10:100", memoryLimit: 400 * 1_048_576)
        let b = ClusterNode(name: "b", owner: "b:20:200")
        try await queue.nodeHeartbeat(a)
        try await queue.nodeHeartbeat(b)
        try await Task.sleep(for: .milliseconds(1200))
        try await queue.nodeHeartbeat(b)
        let nodes = try await queue.nodes()
        #expect(nodes.map(\.name) == ["a", "b"], "oldest first")
        #expect(nodes.map(\.owner) == ["a:10:100", "b:20:200"])
        #expect(nodes[0].memoryLimit == 400 * 1_048_576 && nodes[1].memoryLimit == nil)
        #expect(nodes.allSatisfy { $0.version == HearingAIVersion.current })
        #expect((nodes[0].secondsSinceHeartbeat ?? 0) >= 1.0, "a has been silent since its heartbeat")
        #expect((nodes[1].secondsSinceHeartbeat ?? 9) < 1.0, "b just beat")

        try await queue.nodeLeft(owner: "a:10:100")
        #expect(try await queue.nodes().map(\.name) == ["b"])
        _ = try await PostgresTestDatabase.values(
            "UPDATE node SET heartbeat_at = now() - interval '25 hours' RETURNING 1", in: database.name, as: Int.self)
        try await queue.nodeHeartbeat(a)
        #expect(try await queue.nodes().map(\.name) == ["a"], "b, silent for a day, is gone")
        await queue.close()
    }

    @Test(
        "Counts by state kept by the trigger match the rows, through concurrent claims, ends, sweeps, requeues and forgets, and from migration on"
    )
    func countsKeptByTrigger() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let nodes = [try await PostgresJobQueue(url: database.url), try await PostgresJobQueue(url: database.url)]
        for n in 1...60 { try await nodes[n % 2].enqueue(Self.job(n)) }
        // Eight claimers on two pools, each ending its jobs one of four ways.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    let queue = nodes[worker % 2]
                    var n = 0
                    while let job = try await queue.claim(owner: "w\(worker):1:1") {
                        let lease = try #require(job.lease)
                        switch n % 4 {
                        case 0: try await queue.markDone(lease)
                        case 1: try await queue.markFailed(lease, reason: "x")
                        case 2: try await queue.retryLater(lease, reason: "x", notBefore: Date().addingTimeInterval(3600))
                        default: break  // left running
                        }
                        n += 1
                    }
                }
            }
            try await group.waitForAll()
        }
        func exact() async throws -> [Job.State: Int] {
            var counts = Dictionary(uniqueKeysWithValues: Job.State.allCases.map { ($0, 0) })
            for row in try await PostgresTestDatabase.values(
                "SELECT state || ' ' || count(*) FROM job GROUP BY state", in: database.name, as: String.self)
            {
                let parts = row.split(separator: " ")
                counts[Job.State(rawValue: String(parts[0]))!] = Int(parts[1])!
            }
            return counts
        }
        let afterClaims = try await nodes[0].counts()
        #expect(afterClaims == (try await exact()))
        #expect(afterClaims.values.reduce(0, +) == 60)
        #expect(afterClaims[.running]! > 0 && afterClaims[.done]! > 0 && afterClaims[.failed]! > 0 && afterClaims[.queued]! > 0)

        // Two sweepers at once while jobs are forgotten and retried: the sweeps change many jobs
        // in one transaction each, and each folds the deltas (migration 3's row updates deadlocked here).
        let running = try await nodes[0].counts()[.running]!
        let forgettable = try await nodes[0].jobs(state: .done, limit: 5)
        let retryable = try await nodes[0].jobs(state: .failed, limit: 3)
        let swept = try await withThrowingTaskGroup(of: Int.self) { group in
            for node in nodes {
                group.addTask { try await node.requeueOrphans(owner: "sweeper", isDead: { _ in true }).count }
            }
            group.addTask {
                for job in forgettable { _ = try await nodes[0].forget(job.id!) }
                return 0
            }
            group.addTask {
                for job in retryable { try await nodes[1].requeueFailed(job.id!) }
                return 0
            }
            return try await group.reduce(0, +)
        }
        #expect(swept == running)
        #expect(try await nodes[1].counts() == (try await exact()))
        #expect(try await nodes[1].counts()[.running] == 0)
        // The sweep folded every delta into the four rows.
        _ = try await nodes[0].requeueOrphans(owner: "sweeper", isDead: { _ in true })
        #expect(
            try await PostgresTestDatabase.values("SELECT count(*)::text FROM job_count_delta", in: database.name, as: String.self) == ["0"]
        )
        #expect(try await nodes[0].counts() == (try await exact()))

        // A database migrated with rows already in it starts from their true counts.
        let settings = try PostgresSettings(url: database.url)
        let connection = try await PostgresConnection.connect(
            configuration: try settings.connectionConfiguration(), id: 9, logger: PostgresJobQueue.quiet)
        for statement in [
            "DELETE FROM hearingai_schema WHERE version IN (3, 4)", "DROP TRIGGER job_count ON job",
            "DROP FUNCTION hearingai_job_count()", "DROP TABLE job_count", "DROP TABLE job_count_delta",
        ] {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: PostgresJobQueue.quiet)
        }
        try await nodes[0].enqueue(Self.job(61))
        #expect(try await PostgresSchema.migrate(connection, logger: PostgresJobQueue.quiet) == [3, 4])
        try? await connection.close()
        #expect(try await nodes[0].counts() == (try await exact()))
        for queue in nodes { await queue.close() }
    }

    @Test("State changes in every direction at once, from eight workers and two sweepers, never deadlock and keep the counts")
    func countsUnderChurn() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let nodes = [try await PostgresJobQueue(url: database.url), try await PostgresJobQueue(url: database.url)]
        for n in 1...40 { try await nodes[n % 2].enqueue(Self.job(n)) }
        let deadline = ContinuousClock.now + .seconds(4)
        // Claims (queued → running) race give-backs (running → queued), failures and their
        // requeues (running → failed → queued), and sweeps that move many jobs in one transaction:
        // every pair of count rows is changed in both orders at once.
        let moves = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    let queue = nodes[worker % 2]
                    var moves = 0
                    while ContinuousClock.now < deadline {
                        guard let job = try await queue.claim(owner: "w\(worker):1:1"), let lease = job.lease else { continue }
                        do {
                            if moves % 3 == 0 {
                                try await queue.markFailed(lease, reason: "x")
                                try await queue.requeueFailed(job.id!)
                            } else if moves % 3 == 1 {
                                try await queue.retryLater(lease, reason: "x", notBefore: Date())
                            }  // else left running for a sweeper
                        } catch let error as HearingAIError where error.code == .leaseLost {
                            // A sweeper took it back first (the sweepers treat every holder as dead).
                        }
                        moves += 1
                    }
                    return moves
                }
            }
            for node in nodes {
                group.addTask {
                    var sweeps = 0
                    while ContinuousClock.now < deadline {
                        _ = try await node.requeueOrphans(owner: "sweeper", isDead: { _ in true })
                        sweeps += 1
                    }
                    return sweeps
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(moves > 100)
        _ = try await nodes[0].requeueOrphans(owner: "sweeper", isDead: { _ in true })
        let exact = try await PostgresTestDatabase.values(
            "SELECT count(*) FROM job WHERE state = 'queued'", in: database.name, as: Int.self)
        #expect(exact == [40])
        #expect(try await nodes[1].counts() == [.queued: 40, .running: 0, .done: 0, .failed: 0])
        for queue in nodes { await queue.close() }
    }

    @Test("A holder that stops heartbeating loses its job when the lease expires by the database's clock")
    func leaseExpiry() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let nodeA = try await PostgresJobQueue(url: database.url, leaseDuration: .seconds(1))
        let nodeB = try await PostgresJobQueue(url: database.url, leaseDuration: .seconds(1))
        try await nodeA.enqueue(Self.job(1))
        try await nodeA.enqueue(Self.job(2))
        let silent = try #require(try await nodeA.claim(owner: "node-a"))
        let alive = try #require(try await nodeA.claim(owner: "node-c"))

        // Fresh leases are kept, whatever the caller's clock says: only the database's counts.
        let early = try await nodeB.requeueOrphans(owner: "node-b", isDead: { _ in false }, now: Date().addingTimeInterval(3600))
        #expect(early.isEmpty)
        try await nodeA.heartbeat(try #require(alive.lease), progress: nil, now: Date().addingTimeInterval(-3600))

        // node-c heartbeats through the lease period; node-a has stopped.
        for _ in 0..<6 {
            try await Task.sleep(for: .milliseconds(250))
            try await nodeA.heartbeat(try #require(alive.lease))
        }
        let requeued = try await nodeB.requeueOrphans(owner: "node-b", isDead: { _ in false })
        #expect(requeued.map(\.id) == [silent.id])
        #expect(requeued.first?.state == .queued)
        #expect(requeued.first?.attempts == 1, "an attempt without progress stays counted")
        #expect(requeued.first?.lastError?.contains("no new chunk") == true)
        #expect(try await nodeB.job(silent.id!)?.state == .queued)
        #expect(try await nodeB.job(alive.id!)?.state == .running)
        #expect(try await nodeB.claim(owner: "node-b")?.attempts == 2)
        await nodeA.close()
        await nodeB.close()
    }

    @Test("A node whose lease was swept cannot write, and its markDone adds no webhook event")
    func sweptNodeCannotWrite() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let nodeA = try await PostgresJobQueue(url: database.url, leaseDuration: .seconds(1))
        let nodeB = try await PostgresJobQueue(url: database.url, leaseDuration: .seconds(1))
        try await nodeA.enqueue(Self.job(1))
        let job = try #require(try await nodeA.claim(owner: "node-a"))
        let lease = try #require(job.lease)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await nodeB.requeueOrphans(owner: "node-b", isDead: { _ in false }).map(\.id) == [job.id])

        // Before anyone claims it again: the job is queued, so every write under the old lease fails.
        for write in [
            { try await nodeA.heartbeat(lease) },
            { try await nodeA.setOutputStem(lease, stem: FileName("stale")) },
            { try await nodeA.markFailed(lease, reason: "stale") },
            { try await nodeA.retryLater(lease, reason: "stale", notBefore: Date()) },
            { try await nodeA.waitForResource(lease, reason: "stale", notBefore: Date()) },
            { try await nodeA.release(lease) },
        ] as [@Sendable () async throws -> Void] {
            let error = await #expect(throws: HearingAIError.self) { try await write() }
            #expect(error?.code == .leaseLost)
            #expect(error?.reason.contains("lease lost") == true)
        }
        let events = try WebhookEvent(type: .jobCompleted, jobID: job.id!, source: "take 1.wav").deliveries(to: ["http://127.0.0.1:9/a"])
        await #expect(throws: HearingAIError.self) { try await nodeA.markDone(lease, webhooks: events, now: Date()) }
        #expect(try await nodeB.webhooks(state: nil, limit: 10).isEmpty)

        // Claimed again by node-b: node-a's markDone still writes nothing; node-b's writes its event.
        let again = try #require(try await nodeB.claim(owner: "node-b"))
        await #expect(throws: HearingAIError.self) { try await nodeA.markDone(lease, webhooks: events, now: Date()) }
        #expect(try await nodeB.webhooks(state: nil, limit: 10).isEmpty)
        #expect(try await nodeB.job(job.id!)?.state == .running)
        #expect(try await nodeB.job(job.id!)?.outputStem == nil)
        try await nodeB.markDone(try #require(again.lease), webhooks: events, now: Date())
        #expect(try await nodeB.webhooks(state: nil, limit: 10).map(\.eventID) == events.map(\.eventID))
        await nodeA.close()
        await nodeB.close()
    }

    @Test("Two nodes (two pools), 8 claimers: 40 jobs claimed exactly once")
    func claimsAcrossNodes() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let nodes = [try await PostgresJobQueue(url: database.url), try await PostgresJobQueue(url: database.url)]
        for n in 0..<40 { try await nodes[0].enqueue(Self.job(n)) }
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for worker in 0..<8 {
                let node = nodes[worker % 2]
                group.addTask {
                    var mine: [Int64] = []
                    while let job = try await node.claim(owner: "node-\(worker % 2)-worker-\(worker)") { mine.append(job.id!) }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(claimed.count == 40)
        #expect(Set(claimed).count == 40)
        #expect(try await nodes[1].counts()[.running] == 40)
        #expect(try await nodes[0].jobs(state: .running, limit: 100).allSatisfy { $0.attempts == 1 && $0.lease != nil })
        for node in nodes { await node.close() }
    }

    @Test("Two nodes claiming twins at once: one job per content runs, and collisions are not errors")
    func twinsAcrossNodes() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let nodes = [try await PostgresJobQueue(url: database.url), try await PostgresJobQueue(url: database.url)]
        // 20 contents, each twice.
        for n in 0..<40 { try await nodes[0].enqueue(Self.job(n, sha: "content-\(n % 20)")) }
        let claimed = try await withThrowingTaskGroup(of: [Job].self) { group in
            for worker in 0..<8 {
                let node = nodes[worker % 2]
                group.addTask {
                    var mine: [Job] = []
                    while let job = try await node.claim(owner: "worker-\(worker)") { mine.append(job) }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        // The claimers stop when nothing is claimable; at most one job of a content runs, and no
        // content is left without one running.
        #expect(Set(claimed.map(\.sha256)).count == claimed.count)
        #expect(Set(claimed.map(\.sha256)) == Set((0..<20).map { "content-\($0)" }))
        #expect(try await nodes[1].counts()[.running] == 20)
        for node in nodes { await node.close() }
    }

    @Test("A claim that collides with another node's claim of the same content looks again instead of failing")
    func claimCollisionRetries() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let queue = try await PostgresJobQueue(url: database.url)
        try await queue.enqueue(Self.job(1, sha: "same"))
        try await queue.enqueue(Self.job(2, sha: "same"))
        try await queue.enqueue(Self.job(3))

        // "Another node" claims w1 in a transaction not yet committed: the claim below cannot see
        // it running, skips its locked row, takes the twin w2, and waits on the unique index
        // until that node commits; then the index refuses it, and it must look again.
        let settings = try PostgresSettings(url: database.url)
        let other = try await PostgresConnection.connect(
            configuration: try settings.connectionConfiguration(), id: 9, logger: PostgresJobQueue.quiet)
        try await other.query("BEGIN", logger: PostgresJobQueue.quiet)
        try await other.query(
            "UPDATE job SET state = 'running', lease_owner = 'other', lease_token = lease_token + 1 WHERE id = 1",
            logger: PostgresJobQueue.quiet)
        let claim = Task { try await queue.claim(owner: "me") }
        try await Task.sleep(for: .milliseconds(500))
        try await other.query("COMMIT", logger: PostgresJobQueue.quiet)
        try? await other.close()

        let claimed = try await claim.value
        #expect(claimed?.workDir == "w3")
        #expect(try await queue.job(2)?.state == .queued)
        #expect(try await queue.claim(owner: "me") == nil)
        await queue.close()
    }

    @Test("Over TCP: sslmode=disable and prefer connect (this cluster has no TLS); require is refused")
    func tcpAndTLSModes() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let tcp = try PostgresTestDatabase.url(database: database.name, dropping: ["host"])
        for (n, mode) in ["disable", "prefer"].enumerated() {
            let queue = try await PostgresJobQueue(url: tcp + "?sslmode=\(mode)")
            try await queue.enqueue(Self.job(n, sha: mode))
            #expect(try await queue.job(workDir: "w\(n)")?.sha256 == mode)
            await queue.close()
        }
        let error = await #expect(throws: HearingAIError.self) { _ = try await PostgresJobQueue(url: tcp + "?sslmode=require") }
        #expect(error?.code == .queueFailed)
        #expect(error?.description.contains("does not offer TLS") == true, "\(String(describing: error))")
        #expect(error?.description.contains("\n") == false)
    }

    @Test("A wrong password is refused with a one-line error that never contains it")
    func passwordNotInErrors() async throws {
        // The test cluster makes hearingai_pw give a password (scripts/test-postgres.sh).
        let right = "right-" + UUID().uuidString
        _ = try await PostgresTestDatabase.maintenance { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "ALTER ROLE hearingai_pw LOGIN PASSWORD '\(right)'"), logger: PostgresJobQueue.quiet)
        }
        let database = try await PostgresTestDatabase.create(owner: "hearingai_pw")
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let wrong = "Wr0ng-Secret-" + UUID().uuidString

        // In the URL, in the parameter; over the socket and over TCP.
        let socketURL = try PostgresTestDatabase.url(database: database.name, user: "hearingai_pw", password: wrong)
        let tcpURL = try PostgresTestDatabase.url(database: database.name, user: "hearingai_pw", password: wrong, dropping: ["host"])
        for attempt in [
            { _ = try await PostgresJobQueue(url: socketURL) },
            { _ = try await PostgresJobQueue(url: tcpURL + "?sslmode=disable") },
            {
                _ = try await PostgresJobQueue(
                    url: try PostgresTestDatabase.url(database: database.name, user: "hearingai_pw"), password: wrong)
            },
        ] as [@Sendable () async throws -> Void] {
            let error = try #require(await #expect(throws: HearingAIError.self) { try await attempt() })
            #expect(error.code == .queueFailed)
            #expect(error.description.contains("password authentication failed"), "\(error)")
            #expect(!error.description.contains(wrong), "the password leaked: \(error)")
            #expect(!error.description.contains("Wr0ng"), "part of the password leaked: \(error)")
            #expect(!error.description.contains("\n"))
        }

        // The right one, as the parameter, replaces the URL's wrong one.
        let queue = try await PostgresJobQueue(url: socketURL, password: right)
        try await queue.enqueue(Self.job(1))
        #expect(try await queue.counts()[.queued] == 1)
        await queue.close()
    }

    @Test("An unreachable server fails at once with a one-line queueFailed error")
    func unreachable() async throws {
        let error = await #expect(throws: HearingAIError.self) {
            _ = try await PostgresJobQueue(url: "postgresql://nobody:s3cr3t-pw@127.0.0.1:1/none?sslmode=disable&connect_timeout=5")
        }
        #expect(error?.code == .queueFailed)
        #expect(error?.description.contains("127.0.0.1:1") == true, "\(String(describing: error))")
        #expect(error?.description.contains("s3cr3t") == false)
    }

    @Test("A closed queue fails its calls with queueFailed instead of hanging")
    func closed() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let queue = try await PostgresJobQueue(url: database.url)
        try await queue.enqueue(Self.job(1))
        await queue.close()
        let error = await #expect(throws: HearingAIError.self) { _ = try await queue.counts() }
        #expect(error?.code == .queueFailed)
    }

    @Test("A stored result that does not decode throws a DecodingError, as SQLite's does")
    func garbageResult() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let queue = try await PostgresJobQueue(url: database.url)
        try await queue.query("INSERT INTO result (result_key, transcript, created_at) VALUES ('k', '\\x6e6f7065'::bytea, now())")
        await #expect(throws: DecodingError.self) { _ = try await queue.result("k") }
        try await queue.query("INSERT INTO checkpoint (result_key, chunk, words) VALUES ('k', 0, '\\x6e6f7065'::bytea)")
        #expect(await queue.checkpoints(resultKey: "k").load(chunk: 0) == nil)
        try await queue.checkpoints(resultKey: "k").store(DecodedChunk(words: []), chunk: 0)
        #expect(await queue.checkpoints(resultKey: "k").load(chunk: 0) == DecodedChunk(words: []))
        await queue.close()
    }
}

/// The URL forms the PostgreSQL queue accepts (no server needed).
@Suite("PostgreSQL URLs")
struct PostgresSettingsTests {
    @Test("A unix socket directory, as libpq takes it: the host parameter or a percent-encoded host; TLS off")
    func unixSockets() throws {
        let parameter = try PostgresSettings(url: "postgresql://hearingai@localhost:55432/queue?host=/run/pg")
        #expect(parameter.endpoint == .socket(path: "/run/pg/.s.PGSQL.55432"))
        #expect(parameter.sslMode == .disable)
        #expect(parameter.user == "hearingai" && parameter.database == "queue")
        let encoded = try PostgresSettings(url: "postgres://me@%2Fvar%2Frun%2Fpostgresql/db")
        #expect(encoded.endpoint == .socket(path: "/var/run/postgresql/.s.PGSQL.5432"))
        let hostless = try PostgresSettings(url: "postgresql:///db?host=/tmp&port=6000&user=u")
        #expect(hostless.endpoint == .socket(path: "/tmp/.s.PGSQL.6000") && hostless.user == "u" && hostless.database == "db")
    }

    @Test("TCP: port, sslmode (prefer by default), password from the URL or the parameter, database defaults to the user")
    func tcp() throws {
        let plain = try PostgresSettings(url: "postgres://alice:p%40ss@db.example:6432")
        #expect(plain.endpoint == .tcp(host: "db.example", port: 6432))
        #expect(plain.sslMode == .prefer)
        #expect(plain.password == "p@ss")
        #expect(plain.database == "alice")
        #expect(try PostgresSettings(url: "postgres://alice:url@h/db", password: "file").password == "file")
        for mode in PostgresSettings.SSLMode.allCases {
            #expect(try PostgresSettings(url: "postgresql://a@h/db?sslmode=\(mode.rawValue)").sslMode == mode)
        }
        #expect(try PostgresSettings(url: "postgresql://a@h/db").description == "a@h:5432/db")
    }

    @Test("Invalid URLs are queueFailed errors naming the problem, never the password")
    func invalid() throws {
        for url in [
            "mysql://u:hunter2pw@h/db", "postgres://u:hunter2pw@h/db?sslmode=sometimes", "postgres://u:hunter2pw@h/db?port=x",
            "postgres://u:hunter2pw@h/db?fancy=1",
        ] {
            let error = #expect(throws: HearingAIError.self) { try PostgresSettings(url: url) }
            #expect(error?.code == .queueFailed)
            #expect(error?.description.contains("hunter2pw") == false, "\(String(describing: error))")
        }
    }
}
