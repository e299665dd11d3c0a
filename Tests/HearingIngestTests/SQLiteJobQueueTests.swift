import Foundation
import GRDB
import HearingAI
import Testing

@testable import HearingIngest

/// What the SQLite queue does with stored data that does not decode (garbage that SQLite's
/// integrity check cannot see): it must not turn into a failure of good audio.
@Suite("SQLite queue: stored data that does not decode")
struct SQLiteJobQueueTests {
    @Test("A result that does not decode throws DecodingError; a checkpoint that does not decode loads as missing and is replaced")
    func garbage() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearingai-queue-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let queue = try SQLiteJobQueue(path: dir.appendingPathComponent("queue.sqlite").path)
        let words = [Word(text: "hello", start: 1, end: 1.5, confidence: 0.9)]
        let checkpoints = queue.checkpoints(resultKey: "k:1")
        try await checkpoints.store(DecodedChunk(words: words), chunk: 0)
        try await queue.database.write { db in
            try db.execute(sql: "UPDATE checkpoint SET words = ?", arguments: [Data("[{\"garbage\"".utf8)])
            try db.execute(
                sql: "INSERT INTO result (resultKey, transcript, createdAt) VALUES ('k:1', ?, ?)", arguments: [Data("{".utf8), Date()])
        }

        await #expect(throws: DecodingError.self) { _ = try await queue.result("k:1") }
        #expect(await checkpoints.load(chunk: 0) == nil)
        try await checkpoints.store(DecodedChunk(words: words), chunk: 0)
        #expect(await checkpoints.load(chunk: 0)?.words == words)
    }
}
