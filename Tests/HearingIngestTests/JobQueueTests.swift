import Foundation
import HearingAI
import Testing
@testable import HearingIngest
import TestSupport

@Suite("Job queue (SQLite)")
struct JobQueueTests {
    static func queue() throws -> (JobQueue, URL) {
        let dir = try temporaryDirectory()
        return (try JobQueue(path: dir.appendingPathComponent("queue.sqlite").path), dir)
    }

    static func job(_ n: Int) -> Job {
        Job(name: FileName("take \(n).wav"), workDir: "w\(n)", size: 100, mtimeNs: 1, sha256: "sha\(n)")
    }

    @Test("Claims are atomic: 40 jobs, 8 concurrent claimers, each job claimed exactly once")
    func atomicClaims() async throws {
        let (queue, dir) = try Self.queue()
        defer { try? FileManager.default.removeItem(at: dir) }
        for n in 0..<40 { try queue.enqueue(Self.job(n)) }
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var mine: [Int64] = []
                    while let job = try queue.claim(owner: "worker-\(worker)") { mine.append(job.id!) }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(claimed.count == 40)
        #expect(Set(claimed).count == 40)
        #expect(try queue.counts()[.running] == 40)
        #expect(try queue.jobs(state: .running, limit: 100).allSatisfy { $0.attempts == 1 })
    }

    @Test("Attempts are counted at claim; orphans of a dead owner are requeued with their attempts")
    func orphans() throws {
        let (queue, dir) = try Self.queue()
        defer { try? FileManager.default.removeItem(at: dir) }
        try queue.enqueue(Self.job(1))
        try queue.enqueue(Self.job(2))
        _ = try queue.claim(owner: "dead")
        _ = try queue.claim(owner: "alive")
        let requeued = try queue.requeueOrphans(owner: "me") { $0 == "dead" }
        #expect(requeued.map(\.workDir) == ["w1"])
        let again = try #require(try queue.claim(owner: "me"))
        #expect(again.workDir == "w1")
        #expect(again.attempts == 2)
        #expect(try queue.job(2)?.state == .running)
    }

    @Test("A graceful release does not count the interrupted attempt; retries wait for their time")
    func releaseAndRetry() throws {
        let (queue, dir) = try Self.queue()
        defer { try? FileManager.default.removeItem(at: dir) }
        try queue.enqueue(Self.job(1))
        let job = try #require(try queue.claim(owner: "me"))
        try queue.release(job.id!, owner: "me")
        #expect(try queue.job(job.id!)?.attempts == 0)
        #expect(try queue.job(job.id!)?.state == .queued)
        let second = try #require(try queue.claim(owner: "me"))
        try queue.retryLater(second.id!, reason: "engine failed", notBefore: Date().addingTimeInterval(60))
        #expect(try queue.claim(owner: "me") == nil)
        #expect(try queue.claim(owner: "me", now: Date().addingTimeInterval(61))?.attempts == 2)
    }

    @Test("Done and failed jobs; a failed one can be queued again with attempts reset")
    func finish() throws {
        let (queue, dir) = try Self.queue()
        defer { try? FileManager.default.removeItem(at: dir) }
        try queue.enqueue(Self.job(1))
        try queue.enqueue(Self.job(2))
        let a = try #require(try queue.claim(owner: "me"))
        let b = try #require(try queue.claim(owner: "me"))
        try queue.markDone(a.id!)
        try queue.markFailed(b.id!, reason: "not audio")
        #expect(try queue.counts() == [.queued: 0, .running: 0, .done: 1, .failed: 1])
        #expect(try queue.job(b.id!)?.lastError == "not audio")
        try queue.requeueFailed(b.id!)
        #expect(try queue.job(b.id!)?.attempts == 0)
        #expect(try queue.claim(owner: "me")?.id == b.id)
    }

    @Test("Checkpoints and results survive reopening; storing a result drops its checkpoints")
    func checkpointsAndResults() throws {
        let (queue, dir) = try Self.queue()
        defer { try? FileManager.default.removeItem(at: dir) }
        let words = [Word(text: "hello", start: 1, end: 1.5, confidence: 0.9)]
        let checkpoints = queue.checkpoints(resultKey: "abc:1")
        try checkpoints.store(words, chunk: 0)
        try checkpoints.store([], chunk: 1)
        let reopened = try JobQueue(path: dir.appendingPathComponent("queue.sqlite").path)
        #expect(reopened.checkpoints(resultKey: "abc:1").load(chunk: 0) == words)
        #expect(reopened.checkpoints(resultKey: "abc:1").count == 2)
        #expect(reopened.checkpoints(resultKey: "other").load(chunk: 0) == nil)

        let metadata = TranscriptMetadata(
            source: "a.wav", duration: 2, startTime: 0, inputFormat: "WAV", inputSampleRate: 16_000, inputChannels: 1,
            engine: "pocketsphinx", model: "m", chunking: .init(chunkSize: 30, overlap: 1, boundaryWindow: 2, chunks: 1, maxWorkers: 1),
            timings: .init(total: 1, engineLoad: 0, speed: 2), memory: .init(limitMB: nil, limitSource: nil, peakRSSMB: 1, workersAllowed: 1))
        let transcript = Transcript(segments: [Segment(words: words)], metadata: metadata)
        try reopened.storeResult(transcript, resultKey: "abc:1")
        #expect(try queue.result("abc:1") == transcript)
        #expect(queue.checkpoints(resultKey: "abc:1").count == 0)
    }
}
