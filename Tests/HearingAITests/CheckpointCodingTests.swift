import Foundation
import Testing

@testable import HearingAI

@Suite("Chunk checkpoints: what is stored, and what older versions stored")
struct CheckpointCodingTests {
    let words = [Word(text: "hello", start: 1, end: 1.5, confidence: 0.9), Word(text: "there", start: 1.6, end: 2, confidence: 0.8)]

    @Test("Words and guard counts round-trip; an engine without guards stores none")
    func roundTrip() throws {
        for chunk in [
            DecodedChunk(words: words, guards: GuardCounts(silentChunks: 0, overSilence: 1, repeats: 2, loops: 3, retries: 1)),
            DecodedChunk(words: words), DecodedChunk(words: [], guards: GuardCounts(silentChunks: 1)),
        ] {
            #expect(CheckpointCoding.decode(try CheckpointCoding.encode(chunk), chunk: 0, logger: nil) == chunk)
        }
        let stored = try JSONSerialization.jsonObject(with: CheckpointCoding.encode(DecodedChunk(words: words))) as? [String: Any]
        #expect(stored?.keys.sorted() == ["words"])
    }

    @Test("A checkpoint of an earlier version (a bare word array) loads as words without guard counts")
    func bareWordArray() throws {
        let legacy = try JSONEncoder().encode(words)
        #expect(CheckpointCoding.decode(legacy, chunk: 3, logger: nil) == DecodedChunk(words: words))
        #expect(CheckpointCoding.decode(Data("{\"words\": 3}".utf8), chunk: 3, logger: nil) == nil)
    }

    @Test("Counts add up over chunks; a run whose engine never guards has none; the note says only what happened")
    func totals() {
        let chunks: [GuardCounts?] = [GuardCounts(silentChunks: 1), nil, GuardCounts(repeats: 1, loops: 2, retries: 1), GuardCounts()]
        #expect(GuardCounts.total(chunks) == GuardCounts(silentChunks: 1, repeats: 1, loops: 2, retries: 1))
        #expect(GuardCounts.total([nil, nil]) == nil)
        #expect(GuardCounts(silentChunks: 1).summary == "no speech, not sent")
        #expect(
            GuardCounts(overSilence: 1, loops: 2, retries: 1).summary
                == "dropped 1 over silence, 2 loops; asked again at a higher temperature")
        #expect(GuardCounts().isEmpty && GuardCounts().summary.isEmpty)
    }
}
