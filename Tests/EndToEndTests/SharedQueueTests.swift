import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Several `hearingai watch` nodes on one PostgreSQL queue and one inbox (issue 17): the real
/// binary, real inotify, a real PostgreSQL cluster (`make test` starts one; without
/// `HEARINGAI_TEST_POSTGRES_URL` the suite is skipped and says why).
@Suite(
    "Nodes sharing a PostgreSQL queue", .serialized,
    .enabled(if: PostgresTestDatabase.clusterURL != nil, Comment(rawValue: PostgresTestDatabase.skipped)))
struct SharedQueueTests {
    /// Short, so that a node's death is noticed within seconds (the sweep polls every 2 s).
    static let leaseSeconds = 4.0

    /// `count` nodes on the first node's inbox, outbox, processed and failed directories, all
    /// on `database`: each its own process with its own logs, named `node0`, `node1`, ….
    static func nodes(_ count: Int, database: String, flags: [String] = []) throws -> [ServiceProcess] {
        let environment = ["HEARINGAI_LEASE_SECONDS": "\(leaseSeconds)"]
        let first = try ServiceProcess(environment: environment)
        var nodes = [first]
        for _ in 1..<count { nodes.append(try ServiceProcess(environment: environment)) }
        for (i, node) in nodes.enumerated() {
            node.watchArguments =
                [
                    "--inbox", first.inbox.path, "--outbox", first.outbox.path, "--processed", first.processed.path,
                    "--failed", first.failed.path, "--database", database, "--node-name", "node\(i)", "--settle-seconds", "0.3",
                    "--verbose",
                ] + flags
        }
        return nodes
    }

    static func start(_ nodes: [ServiceProcess]) throws {
        for node in nodes { try node.start(arguments: ["watch"] + node.watchArguments) }
    }

    /// `hearingai status` on the shared queue: its counts line.
    static func status(_ database: String) throws -> String {
        try statusLines(database).first ?? ""
    }

    /// `hearingai status` on the shared queue, line by line.
    static func statusLines(_ database: String) throws -> [String] {
        let result = try BinaryRunner.run(["status", "--database", database])
        guard result.status == 0 else { throw ServiceTestError("status failed (\(result.status)): \(result.stderr)") }
        return result.stdout.split(separator: "\n").map(String.init)
    }

    /// The processor's "Transcription started" lines of `node` (the pipeline logs one too,
    /// without the attempt).
    static func starts(_ node: ServiceProcess) -> [Substring] {
        node.lines(containing: "Transcription started", "job.attempt=")
    }

    @Test("Two nodes on one inbox and one queue: 8 files, each transcribed exactly once, by both nodes")
    func twoNodesShareTheWork() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let nodes = try Self.nodes(2, database: database.url)
        defer { nodes.forEach { $0.cleanup() } }
        try Self.start(nodes)
        let names = (1...8).map { "take\($0).wav" }
        for (i, name) in names.enumerated() { try nodes[0].dropByRename(try WatchServiceTests.shortVariant("node-\(i)"), name: name) }
        try nodes[0].waitUntil("8 sources in processed/", timeout: 240) { ServiceProcess.names(nodes[0].processed).count >= 8 }
        WatchServiceTests.quietPeriod()

        #expect(ServiceProcess.names(nodes[0].processed) == names.sorted())
        let stems: [String] = names.map { String($0.dropLast(4)) }
        let outputs: [String] = stems.flatMap { [$0 + ".json", $0 + ".txt"] }.sorted()
        #expect(ServiceProcess.names(nodes[0].outbox) == outputs)
        #expect(ServiceProcess.names(nodes[0].failed) == [])
        for stem in stems {
            let text = try String(contentsOf: nodes[0].outbox.appendingPathComponent(stem + ".txt"), encoding: .utf8)
            #expect(text == Reference.short, "\(stem)")
        }
        let starts = nodes.map { Self.starts($0).count }
        #expect(starts.reduce(0, +) == 8, "each file claimed once: \(starts)")
        #expect(starts.allSatisfy { $0 >= 1 }, "both nodes transcribed: \(starts)")
        #expect(try Self.status(database.url) == "queued: 0  running: 0  done: 8  failed: 0")
        // The cluster as `status` and `jobs list` show it: both nodes alive and idle, and each
        // job under the node that ran it.
        let status = try Self.statusLines(database.url)
        #expect(status.contains("nodes: 2"), "\(status)")
        for i in 0..<2 {
            #expect(
                status.contains { $0.hasPrefix("node: node\(i) (pid ") && $0.contains("s ago") && $0.hasSuffix(", idle") },
                "\(status)")
        }
        #expect(status.filter { $0.contains(", lists the inbox") }.count == 1, "one node lists the inbox: \(status)")
        let listers = nodes.filter { !$0.lines(containing: "Listing the shared inbox").isEmpty }
        #expect(listers.count == 1, "one node took files")
        let byNode = Dictionary(grouping: try nodes[0].jobsList(database: database.url), by: { $0["NODE"] ?? "" }).mapValues(\.count)
        #expect(byNode == ["node0": starts[0], "node1": starts[1]].filter { $0.value > 0 }, "jobs by node: \(byNode)")
        for node in nodes { try node.terminate() }
        #expect(try Self.statusLines(database.url).contains("nodes: 0"), "nodes that stopped gracefully leave the list")
    }

    @Test("A shared inbox listed by polling (--poll-only): the lister killed with kill -9, the other lists it and takes new files")
    func listerKilledIsReplaced() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let nodes = try Self.nodes(2, database: database.url, flags: ["--poll-only", "--rescan-seconds", "1"])
        defer { nodes.forEach { $0.cleanup() } }
        try Self.start(nodes)
        try nodes[0].waitUntil("a node listing the inbox", timeout: 60) {
            nodes.contains { !$0.lines(containing: "Listing the shared inbox").isEmpty }
        }
        let lister = try #require(nodes.firstIndex { !$0.lines(containing: "Listing the shared inbox").isEmpty })
        let other = nodes[1 - lister]
        #expect(other.lines(containing: "Listing the shared inbox").isEmpty, "one lister at a time")
        try nodes[lister].kill9()
        let names = ["after1.wav", "after2.wav"]
        for (i, name) in names.enumerated() { try nodes[0].dropByRename(try WatchServiceTests.shortVariant("lister-\(i)"), name: name) }
        try other.waitForLog("Listing the shared inbox", timeout: 30)
        try other.waitUntil("2 sources in processed/", timeout: 240) { ServiceProcess.names(nodes[0].processed).count >= 2 }
        WatchServiceTests.quietPeriod()

        #expect(ServiceProcess.names(nodes[0].processed) == names)
        #expect(ServiceProcess.names(nodes[0].outbox) == ["after1.json", "after1.txt", "after2.json", "after2.txt"])
        #expect(try Self.status(database.url) == "queued: 0  running: 0  done: 2  failed: 0")
        let status = try Self.statusLines(database.url)
        #expect(status.contains { $0.hasPrefix("node: node\(1 - lister) ") && $0.contains(", lists the inbox") }, "\(status)")
        try other.terminate()
    }

    @Test("A node killed with kill -9 mid-file: the other node takes its job back within the lease and finishes it")
    func killedNodeIsResumedElsewhere() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let flags = ["--chunk-size", "5", "--max-workers", "1"]
        let nodes = try Self.nodes(2, database: database.url, flags: flags)
        defer { nodes.forEach { $0.cleanup() } }
        try Self.start(nodes)
        try nodes[0].dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/conversation.wav"))), name: "talk.wav")
        try nodes[0].waitUntil("a node decoding talk.wav", timeout: 60) {
            nodes.contains { !$0.lines(containing: "Chunk done", "chunk.checkpoint=false").isEmpty }
        }
        let holder = try #require(nodes.firstIndex { !$0.lines(containing: "Chunk done").isEmpty })
        let other = nodes[1 - holder]
        try nodes[holder].kill9()
        let killed = Date()
        try other.waitForLog("Requeued a job its dead owner left running", timeout: 60)
        try other.waitForLog("Transcription started", "job.attempt=", timeout: 30)
        let resumed = Date().timeIntervalSince(killed)
        // The lease, one sweep interval, and slack for a loaded machine.
        #expect(resumed < Self.leaseSeconds + 2 + 20, "resumed \(resumed) s after the kill")
        try other.waitUntil("talk.wav in processed/", timeout: 300) { ServiceProcess.names(nodes[0].processed) == ["talk.wav"] }
        WatchServiceTests.quietPeriod()

        #expect(ServiceProcess.names(nodes[0].outbox) == ["talk.json", "talk.txt"])
        #expect(ServiceProcess.names(nodes[0].failed) == [])
        let clean = try Reference.transcript("speech/conversation.wav", extra: flags)
        #expect(try String(contentsOf: nodes[0].outbox.appendingPathComponent("talk.txt"), encoding: .utf8) == clean)
        #expect(try Self.status(database.url) == "queued: 0  running: 0  done: 1  failed: 0")
        try other.terminate()
    }

    @Test("A file that kills every node that starts it is quarantined after max_attempts, its attempts counted across nodes")
    func poisonFileAcrossNodes() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let nodes = try Self.nodes(2, database: database.url, flags: ["--chunk-size", "5", "--max-workers", "1"])
        defer { nodes.forEach { $0.cleanup() } }
        try Self.start(nodes)
        try nodes[0].dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/conversation.wav"))), name: "poison.wav")
        // The "poison": whichever node starts the file is killed at once, before it finishes a
        // chunk (an attempt without progress, which counts), and restarted.
        var seen = [0, 0]
        var kills = 0
        let deadline = Date().addingTimeInterval(300)
        while ServiceProcess.names(nodes[0].failed).isEmpty, Date() < deadline {
            for (i, node) in nodes.enumerated() {
                let started = Self.starts(node).count
                guard started > seen[i] else { continue }
                seen[i] = started
                try node.kill9()
                kills += 1
                try node.start(arguments: ["watch"] + node.watchArguments)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try nodes[0].waitUntil("poison.wav and its reason in failed/", timeout: 60) { ServiceProcess.names(nodes[0].failed).count == 2 }
        WatchServiceTests.quietPeriod()

        #expect(ServiceProcess.names(nodes[0].failed) == ["poison.wav", "poison.wav.error.json"])
        let reason = try String(contentsOf: nodes[0].failed.appendingPathComponent("poison.wav.error.json"), encoding: .utf8)
        #expect(reason.contains("gave up after 3 attempts"), "\(reason)")
        #expect(ServiceProcess.names(nodes[0].outbox) == [])
        #expect(kills == 3, "three attempts, each killed before its first chunk: \(kills) kills, starts by node \(seen)")
        #expect(try Self.status(database.url) == "queued: 0  running: 0  done: 0  failed: 1")
        for node in nodes { try node.terminate() }
    }

    @Test("A node paused past its lease: the other finishes its job; resumed, the first writes nothing and says its lease was lost")
    func pausedNodeLosesItsLease() async throws {
        let database = try await PostgresTestDatabase.create()
        defer { Task { await PostgresTestDatabase.drop(database.name) } }
        let flags = ["--chunk-size", "5", "--max-workers", "1"]
        let nodes = try Self.nodes(2, database: database.url, flags: flags)
        defer {
            for node in nodes { if let pid = node.pid { kill(pid, SIGCONT) } }
            nodes.forEach { $0.cleanup() }
        }
        try Self.start(nodes)
        try nodes[0].dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/conversation.wav"))), name: "talk.wav")
        try nodes[0].waitUntil("a node decoding talk.wav", timeout: 60) {
            nodes.contains { !$0.lines(containing: "Chunk done", "chunk.checkpoint=false").isEmpty }
        }
        let holder = try #require(nodes.firstIndex { !$0.lines(containing: "Chunk done").isEmpty })
        let paused = nodes[holder]
        let other = nodes[1 - holder]
        kill(try #require(paused.pid), SIGSTOP)
        try other.waitForLog("Transcript written", timeout: 300)
        kill(try #require(paused.pid), SIGCONT)
        try paused.waitForLog("Lease lost; abandoning the job", timeout: 60)
        WatchServiceTests.quietPeriod(2)

        #expect(ServiceProcess.names(nodes[0].outbox) == ["talk.json", "talk.txt"])
        #expect(ServiceProcess.names(nodes[0].processed) == ["talk.wav"])
        #expect(ServiceProcess.names(nodes[0].failed) == [])
        #expect(paused.lines(containing: "Transcript written").isEmpty, "the paused node delivered nothing")
        #expect(try Self.status(database.url) == "queued: 0  running: 0  done: 1  failed: 0")
        for node in nodes { try node.terminate() }
    }
}
