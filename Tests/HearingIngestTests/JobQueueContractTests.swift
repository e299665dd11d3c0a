import Foundation
import HearingAI
import HearingPostgres
import TestSupport
import Testing

@testable import HearingIngest

/// The ``JobQueue`` contract, written against the protocol: every backend runs the same suite.
/// A backend is added to ``Backend`` and nothing else changes here.
@Suite("Job queue contract")
struct JobQueueContractTests {
    /// The backends under test.
    enum Backend: String, CaseIterable, CustomTestStringConvertible {
        case sqlite
        case postgres

        /// The backends that can run here: PostgreSQL only when `HEARINGAI_TEST_POSTGRES_URL`
        /// names a cluster (`make test` starts one; PostgresJobQueueTests says when it is skipped).
        static var allCases: [Backend] { PostgresTestDatabase.clusterURL == nil ? [.sqlite] : [.sqlite, .postgres] }

        var testDescription: String { rawValue }

        /// A fresh, empty queue and a way to open it again (as another process would).
        func make() async throws -> (queue: any JobQueue, reopen: () async throws -> any JobQueue, cleanup: () -> Void) {
            switch self {
            case .sqlite:
                let dir = try temporaryDirectory()
                let path = dir.appendingPathComponent("queue.sqlite").path
                return (
                    try SQLiteJobQueue(path: path), { try SQLiteJobQueue(path: path) }, { try? FileManager.default.removeItem(at: dir) }
                )
            case .postgres:
                // A database of its own, dropped (with its connections) once the test is over.
                let database = try await PostgresTestDatabase.create()
                return (
                    try await PostgresJobQueue(url: database.url), { try await PostgresJobQueue(url: database.url) },
                    { Task { await PostgresTestDatabase.drop(database.name) } }
                )
            }
        }
    }

    static func job(_ n: Int) -> Job {
        Job(name: FileName("take \(n).wav"), workDir: "w\(n)", size: 100, mtimeNs: 1, sha256: "sha\(n)")
    }

    @Test("Claims are atomic: 40 jobs, 8 concurrent claimers, each job claimed exactly once", arguments: Backend.allCases)
    func atomicClaims(_ backend: Backend) async throws {
        let (queue, _, cleanup) = try await backend.make()
        defer { cleanup() }
        for n in 0..<40 { try await queue.enqueue(Self.job(n)) }
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var mine: [Int64] = []
                    while let job = try await queue.claim(owner: "worker-\(worker)") { mine.append(job.id!) }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(claimed.count == 40)
        #expect(Set(claimed).count == 40)
        #expect(try await queue.counts()[.running] == 40)
        #expect(try await queue.jobs(state: .running, limit: 100).allSatisfy { $0.attempts == 1 && $0.lease != nil })
    }

    @Test("A job whose content another running job holds is not claimed until that one finishes", arguments: Backend.allCases)
    func sameContentWaits(_ backend: Backend) async throws {
        let (queue, _, cleanup) = try await backend.make()
        defer { cleanup() }
        var twin = Self.job(2)
        twin.sha256 = Self.job(1).sha256
        try await queue.enqueue(Self.job(1))
        try await queue.enqueue(twin)
        try await queue.enqueue(Self.job(3))
        let first = try #require(try await queue.claim(owner: "a"))
        #expect(first.workDir == "w1")
        // The twin is skipped while w1 runs; the next distinct job is not held up.
        #expect(try await queue.claim(owner: "b")?.workDir == "w3")
        #expect(try await queue.claim(owner: "b") == nil)
        // Nothing is due while the twin waits: an idle processor must not spin on it.
        #expect(try await queue.nextDue() == nil)
        try await queue.markDone(try #require(first.lease))
        #expect(try await queue.claim(owner: "b")?.workDir == "w2")
    }

    @Test(
        "Attempts are counted at claim; orphans of a dead owner that made no progress are requeued with their attempts",
        arguments: Backend.allCases)
    func orphans(_ backend: Backend) async throws {
        let (queue, _, cleanup) = try await backend.make()
        defer { cleanup() }
        try await queue.enqueue(Self.job(1))
        try await queue.enqueue(Self.job(2))
        _ = try await queue.claim(owner: "dead")
        _ = try await queue.claim(owner: "alive")
        let requeued = try await queue.requeueOrphans(owner: "me") { $0 == "dead" }
        #expect(requeued.map(\.workDir) == ["w1"])
        let again = try #require(try await queue.claim(owner: "me"))
        #expect(again.workDir == "w1")
        #expect(again.attempts == 2)
        #expect(try await queue.job(2)?.state == .running)
    }

    @Test(
        "Quarantine counts only attempts without progress: a dead owner's attempt whose chunks grew is not counted",
        arguments: Backend.allCases)
    func progressIsNotCounted(_ backend: Backend) async throws {
        let (queue, _, cleanup) = try await backend.make()
        defer { cleanup() }
        try await queue.enqueue(Self.job(1))
        func progress(_ done: Int) -> TranscriptionProgress {
            TranscriptionProgress(chunksDone: done, chunksTotal: 10, audioDone: Double(done) * 30, audioTotal: 300, elapsed: 1)
        }

        // Three crashes, each after finishing new chunks: none is counted.
        for (round, done) in [2, 5, 9].enumerated() {
            let job = try #require(try await queue.claim(owner: "run-\(round)"))
            #expect(job.attempts == 1, "round \(round): only the attempt in progress counts")
            #expect(job.chunksAtClaim == [0, 2, 5][round])
            try await queue.heartbeat(try #require(job.lease), progress: progress(done))
            let requeued = try await queue.requeueOrphans(owner: "next") { $0 == "run-\(round)" }
            #expect(requeued.map(\.attempts) == [0])
            #expect(requeued.first?.lastError?.contains("not counted") == true, "\(requeued)")
        }

        // A crash whose progress only caught up with the checkpoints already there (chunks
        // 1...9 again from the checkpoints, no new one) is counted.
        let resumed = try #require(try await queue.claim(owner: "resumed"))
        #expect(resumed.chunksAtClaim == 9)
        try await queue.heartbeat(try #require(resumed.lease), progress: progress(3))
        try await queue.heartbeat(try #require(resumed.lease), progress: progress(9))
        let requeued = try await queue.requeueOrphans(owner: "next") { $0 == "resumed" }
        #expect(requeued.map(\.attempts) == [1])
        #expect(try await queue.job(resumed.id!)?.lastError?.contains("no new chunk") == true)
        #expect(try await queue.job(resumed.id!)?.state == .queued)
    }

    @Test("A crash loop that never advances is counted every time, and so reaches max_attempts", arguments: Backend.allCases)
    func crashLoopCounts(_ backend: Backend) async throws {
        let (queue, _, cleanup) = try await backend.make()
        defer { cleanup() }
        try await queue.enqueue(Self.job(1))
        // The first attempt gets as far as chunk 4, then every attempt dies there.
        let first = try #require(try await queue.claim(owner: "crash-0"))
        try await queue.heartbeat(
            try #require(first.lease),
            progress: TranscriptionProgress(chunksDone: 4, chunksTotal: 10, audioDone: 120, audioTotal: 300, elapsed: 1))
        try await queue.requeueOrphans(owner: "next") { $0 == "crash-0" }
        for round in 1...3 {
            let job = try #require(try await queue.claim(owner: "crash-\(round)"))
            #expect(job.attempts == round)
            // It resumes from its checkpoints up to chunk 4 and dies before finishing chunk 5.
            try await queue.heartbeat(
                try #require(job.lease),
                progress: TranscriptionProgress(chunksDone: 4, chunksTotal: 10, audioDone: 120, audioTotal: 300, elapsed: 1))
            try await queue.requeueOrphans(owner: "next") { $0 == "crash-\(round)" }
        }
        // Dying before any progress report at all is counted too.
        let silent = try #require(try await queue.claim(owner: "silent"))
        #expect(silent.attempts == 4)
        try await queue.requeueOrphans(owner: "next") { $0 == "silent" }
        #expect(try await queue.claim(owner: "last")?.attempts == 5)
    }

    @Test("A lease taken over refuses the old holder's writes, and changes nothing", arguments: Backend.allCases)
    func leases(_ backend: Backend) async throws {
        let (queue, _, cleanup) = try await backend.make()
        defer { cleanup() }
        try await queue.enqueue(Self.job(1))
        let first = try #require(try await queue.claim(owner: "node-a"))
        let oldLease = try #require(first.lease)
        try await queue.heartbeat(oldLease)
        // node-a is presumed dead; its job is requeued and claimed again.
        try await queue.requeueOrphans(owner: "node-b") { $0 == "node-a" }
        let second = try #require(try await queue.claim(owner: "node-b"))
        let newLease = try #require(second.lease)
        #expect(newLease.token != oldLease.token)

        for write in [
            { try await queue.heartbeat(oldLease) },
            { try await queue.setOutputStem(oldLease, stem: FileName("stale")) },
            { try await queue.markDone(oldLease) },
            { try await queue.markFailed(oldLease, reason: "stale") },
            { try await queue.retryLater(oldLease, reason: "stale", notBefore: Date()) },
            { try await queue.release(oldLease) },
        ] as [@Sendable () async throws -> Void] {
            await #expect(throws: HearingAIError.self) { try await write() }
        }
        let job = try #require(try await queue.job(second.id!))
        #expect(job.state == .running)
        #expect(job.outputStem == nil)
        #expect(job.lease == newLease)
        try await queue.markDone(newLease)
        #expect(try await queue.job(second.id!)?.state == .done)
    }

    @Test("A graceful release does not count the interrupted attempt; retries wait for their time", arguments: Backend.allCases)
    func releaseAndRetry(_ backend: Backend) async throws {
        let (queue, _, cleanup) = try await backend.make()
        defer { cleanup() }
        try await queue.enqueue(Self.job(1))
        let job = try #require(try await queue.claim(owner: "me"))
        try await queue.release(try #require(job.lease))
        #expect(try await queue.job(job.id!)?.attempts == 0)
        #expect(try await queue.job(job.id!)?.state == .queued)
        let second = try #require(try await queue.claim(owner: "me"))
        let due = Date().addingTimeInterval(60)
        try await queue.retryLater(try #require(second.lease), reason: "engine failed", notBefore: due)
        #expect(try await queue.claim(owner: "me") == nil)
        let next = try #require(try await queue.nextDue())
        #expect(abs(next.timeIntervalSince(due)) < 0.01)
        #expect(try await queue.claim(owner: "me", now: Date().addingTimeInterval(61))?.attempts == 2)
        #expect(try await queue.nextDue() == nil)
    }

    @Test(
        "Done and failed jobs keep the node that ran them; a failed one can be queued again with attempts reset",
        arguments: Backend.allCases)
    func finish(_ backend: Backend) async throws {
        let (queue, _, cleanup) = try await backend.make()
        defer { cleanup() }
        try await queue.enqueue(Self.job(1))
        try await queue.enqueue(Self.job(2))
        let a = try #require(try await queue.claim(owner: "studio-1:41:7"))
        let b = try #require(try await queue.claim(owner: "studio-2:42:8"))
        #expect([a.node, b.node] == ["studio-1", "studio-2"], "a claim records the node of its owner")
        try await queue.markDone(try #require(a.lease))
        try await queue.markFailed(try #require(b.lease), reason: "not audio")
        #expect(try await queue.counts() == [.queued: 0, .running: 0, .done: 1, .failed: 1])
        #expect(try await queue.job(b.id!)?.lastError == "not audio")
        #expect(try await queue.job(a.id!)?.node == "studio-1", "the node is kept when the job ends")
        try await queue.setFinalName(b.id!, FileName("take 2.wav"))
        #expect(try await queue.job(b.id!)?.finalName == Data("take 2.wav".utf8))
        #expect(try await queue.job(workDir: "w2")?.id == b.id)
        try await queue.requeueFailed(b.id!)
        #expect(try await queue.job(b.id!)?.attempts == 0)
        #expect(try await queue.job(b.id!)?.finalName == nil)
        #expect(try await queue.claim(owner: "me")?.id == b.id)
        #expect(try await queue.jobs(state: nil, limit: 10).map(\.id) == [b.id, a.id])
    }

    @Test("Checkpoints and results survive reopening; storing a result drops its checkpoints", arguments: Backend.allCases)
    func checkpointsAndResults(_ backend: Backend) async throws {
        let (queue, reopen, cleanup) = try await backend.make()
        defer { cleanup() }
        let words = [Word(text: "hello", start: 1, end: 1.5, confidence: 0.9)]
        let checkpoints = queue.checkpoints(resultKey: "abc:1")
        let guarded = DecodedChunk(words: words, guards: GuardCounts(repeats: 2, retries: 1))
        try await checkpoints.store(guarded, chunk: 0)
        try await checkpoints.store(DecodedChunk(words: []), chunk: 1)
        let reopened = try await reopen()
        #expect(await reopened.checkpoints(resultKey: "abc:1").load(chunk: 0) == guarded)
        #expect(await reopened.checkpoints(resultKey: "abc:1").load(chunk: 1) == DecodedChunk(words: []))
        #expect(await reopened.checkpoints(resultKey: "other").load(chunk: 0) == nil)

        let metadata = TranscriptMetadata(
            source: "a.wav", duration: 2, startTime: 0, inputFormat: "WAV", inputSampleRate: 16_000, inputChannels: 1,
            engine: "pocketsphinx", model: "m", chunking: .init(chunkSize: 30, overlap: 1, boundaryWindow: 2, chunks: 1, maxWorkers: 1),
            timings: .init(total: 1, engineLoad: 0, speed: 2),
            memory: .init(limitMB: nil, limitSource: nil, peakRSSMB: 1, workersAllowed: 1))
        let transcript = Transcript(segments: [Segment(words: words)], metadata: metadata)
        try await reopened.storeResult(transcript, resultKey: "abc:1")
        #expect(try await queue.result("abc:1") == transcript)
        #expect(try await queue.result("abc:2") == nil)
        #expect(await queue.checkpoints(resultKey: "abc:1").load(chunk: 0) == nil)
    }

    @Test("Uploads are claimed before older inbox jobs, and a cancelled job before anything", arguments: Backend.allCases)
    func priorityAndCancellation(_ backend: Backend) async throws {
        let (queue, _, cleanup) = try await backend.make()
        defer { cleanup() }
        try await queue.enqueue(Self.job(1))
        try await queue.enqueue(Self.job(2))
        try await queue.enqueue(Job(name: FileName("upload.wav"), workDir: "w3", size: 1, mtimeNs: 1, sha256: "sha3", origin: .api))
        try await queue.enqueue(Self.job(4))
        #expect(try await queue.job(3)?.origin == .api)
        #expect(try await queue.claim(owner: "me")?.workDir == "w3")

        // A queued job due only later is made due at once when cancelled, and claimed first.
        let later = Job(
            name: FileName("later.wav"), workDir: "w5", size: 1, mtimeNs: 1, sha256: "sha5", now: Date().addingTimeInterval(3600))
        let queuedLater = try await queue.enqueue(later)
        let cancelled = try #require(try await queue.requestCancel(queuedLater.id!))
        #expect(cancelled.cancelRequested)
        let claimed = try #require(try await queue.claim(owner: "me"))
        #expect(claimed.workDir == "w5")
        #expect(claimed.cancelRequested)
        try await queue.markFailed(try #require(claimed.lease), reason: "cancelled")

        // A running job is flagged (its processor stops at the next heartbeat); an ended job is
        // returned unchanged; an unknown one is nil.
        let running = try #require(try await queue.claim(owner: "me"))
        #expect(try await queue.requestCancel(running.id!)?.cancelRequested == true)
        #expect(try await queue.job(running.id!)?.state == .running)
        #expect(try await queue.requestCancel(claimed.id!)?.cancelRequested == true)
        #expect(try await queue.requestCancel(claimed.id!)?.state == .failed)
        #expect(try await queue.requestCancel(999) == nil)

        // A retry starts clean.
        try await queue.requeueFailed(claimed.id!)
        #expect(try await queue.job(claimed.id!)?.cancelRequested == false)
    }

    @Test("Pages of jobs follow ids down; only ended jobs can be forgotten", arguments: Backend.allCases)
    func pagesAndForgetting(_ backend: Backend) async throws {
        let (queue, _, cleanup) = try await backend.make()
        defer { cleanup() }
        for n in 1...5 { try await queue.enqueue(Self.job(n)) }
        #expect(try await queue.jobs(state: nil, before: nil, limit: 2).map(\.id) == [5, 4])
        #expect(try await queue.jobs(state: nil, before: 4, limit: 2).map(\.id) == [3, 2])
        #expect(try await queue.jobs(state: nil, before: 2, limit: 2).map(\.id) == [1])
        let job = try #require(try await queue.claim(owner: "me"))
        #expect(try await queue.forget(job.id!) == false, "a running job is not forgotten")
        #expect(try await queue.forget(2) == false, "a queued job is not forgotten")
        try await queue.markDone(try #require(job.lease))
        #expect(try await queue.jobs(state: .done, before: nil, limit: 10).map(\.id) == [job.id])
        #expect(try await queue.forget(job.id!))
        #expect(try await queue.job(job.id!) == nil)
        #expect(try await queue.forget(job.id!) == false)
    }

    // MARK: - Webhook outbox

    static func event(_ type: WebhookEvent.EventType, job: Job, urls: [String] = ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"])
        throws -> [WebhookDelivery]
    {
        try WebhookEvent(type: type, jobID: job.id!, source: job.fileName.description, error: type == .jobFailed ? "bad" : nil)
            .deliveries(to: urls)
    }

    @Test("A job's end and its webhook events are written together, and survive reopening", arguments: Backend.allCases)
    func webhooksWithTheJobsEnd(_ backend: Backend) async throws {
        let (queue, reopen, cleanup) = try await backend.make()
        defer { cleanup() }
        try await queue.enqueue(Self.job(1))
        try await queue.enqueue(Self.job(2))
        let a = try #require(try await queue.claim(owner: "me"))
        let b = try #require(try await queue.claim(owner: "me"))
        try await queue.markDone(a.lease!, webhooks: Self.event(.jobCompleted, job: a), now: Date())
        try await queue.markFailed(b.lease!, reason: "bad", webhooks: Self.event(.jobFailed, job: b), now: Date())

        let reopened = try await reopen()
        let all = try await reopened.webhooks(state: nil, limit: 10)
        #expect(all.count == 4)
        #expect(all.allSatisfy { $0.state == .pending && $0.attempts == 0 })
        // One event id per event, the same for every receiver.
        let byJob = Dictionary(grouping: all, by: \.jobID)
        #expect(Set(byJob[a.id!]!.map(\.eventID)).count == 1)
        #expect(Set(byJob[b.id!]!.map(\.eventID)).count == 1)
        #expect(byJob[a.id!]!.first!.eventID != byJob[b.id!]!.first!.eventID)
        #expect(Set(byJob[b.id!]!.map(\.event)) == ["job.failed"])
        let body = try WebhookEvent.decode(byJob[b.id!]!.first!.body)
        #expect(body.error == "bad" && body.type == .jobFailed && body.jobID == b.id)
        #expect(try await reopened.dueWebhooks(now: Date(), limit: 10).count == 4)
        #expect(try await reopened.dueWebhooks(now: Date(), limit: 3).count == 3)
    }

    @Test("A lost lease writes neither the job's end nor its webhook events", arguments: Backend.allCases)
    func lostLeaseWritesNoEvent(_ backend: Backend) async throws {
        let (queue, _, cleanup) = try await backend.make()
        defer { cleanup() }
        try await queue.enqueue(Self.job(1))
        let first = try #require(try await queue.claim(owner: "dead"))
        try await queue.requeueOrphans(owner: "me", isDead: { $0 == "dead" })
        _ = try #require(try await queue.claim(owner: "me"))
        await #expect(throws: HearingAIError.self) {
            try await queue.markDone(first.lease!, webhooks: Self.event(.jobCompleted, job: first), now: Date())
        }
        await #expect(throws: HearingAIError.self) {
            try await queue.markFailed(first.lease!, reason: "x", webhooks: Self.event(.jobFailed, job: first), now: Date())
        }
        #expect(try await queue.webhooks(state: nil, limit: 10).isEmpty)
        #expect(try await queue.nextWebhookDue() == nil)
    }

    @Test("Failed attempts wait for their time, are counted, and give up; delivered is final; retry resets", arguments: Backend.allCases)
    func webhookAttempts(_ backend: Backend) async throws {
        let (queue, reopen, cleanup) = try await backend.make()
        defer { cleanup() }
        try await queue.enqueue(Self.job(1))
        let job = try #require(try await queue.claim(owner: "me"))
        let events = try Self.event(.jobCompleted, job: job)
        let now = Date()
        try await queue.markDone(job.lease!, webhooks: events, now: now)
        let due = try await queue.dueWebhooks(now: now, limit: 10)
        #expect(due.count == 2)
        let (a, b) = (due[0], due[1])

        // a: fails once, waits, then is delivered.
        try await queue.webhookAttemptFailed(a.id!, error: "connection refused", status: nil, retryAt: now + 30, now: now)
        #expect(try await queue.dueWebhooks(now: now + 1, limit: 10).map(\.id) == [b.id])
        // b is still due (now); dates are stored to the millisecond.
        #expect(abs(try #require(try await queue.nextWebhookDue()).timeIntervalSince(now)) < 0.01)
        // b: answered 500 and given up.
        try await queue.webhookAttemptFailed(b.id!, error: "HTTP 500", status: 500, retryAt: nil, now: now)
        #expect(try await queue.dueWebhooks(now: now + 1, limit: 10).isEmpty)
        let next = try #require(try await queue.nextWebhookDue())
        #expect(abs(next.timeIntervalSince(now + 30)) < 0.01)
        let retried = try #require(try await queue.dueWebhooks(now: now + 31, limit: 10).first)
        #expect(retried.id == a.id && retried.attempts == 1 && retried.lastError == "connection refused")
        try await queue.webhookDelivered(a.id!, status: 204, now: now + 31)

        let reopened = try await reopen()
        #expect(try await reopened.webhooks(state: .delivered, limit: 10).map(\.id) == [a.id])
        #expect(try await reopened.webhooks(state: .delivered, limit: 10).first?.attempts == 2)
        let gaveUp = try #require(try await reopened.webhooks(state: .gaveUp, limit: 10).first)
        #expect(gaveUp.id == b.id && gaveUp.attempts == 1 && gaveUp.lastStatus == 500)
        #expect(try await reopened.nextWebhookDue() == nil)

        // Retry: every given-up one, or named ones whatever their state; same event, same body.
        #expect(try await reopened.retryWebhooks(nil, now: now + 40) == 1)
        let again = try #require(try await reopened.dueWebhooks(now: now + 40, limit: 10).first)
        #expect(again.id == b.id && again.attempts == 0 && again.eventID == b.eventID && again.body == b.body)
        #expect(try await reopened.retryWebhooks([a.id!], now: now + 41) == 1)
        #expect(Set(try await reopened.dueWebhooks(now: now + 41, limit: 10).map(\.id)) == [a.id, b.id])
        #expect(try await reopened.retryWebhooks([999], now: now + 41) == 0)
    }
}
