import Foundation
import Testing

@testable import HearingAI

@Suite("Chunker")
struct ChunkerTests {
    /// A loud signal with silent gaps at the given sample positions.
    static func signal(length: Int, gaps: [Range<Int>]) -> [Int16] {
        var samples = (0..<length).map { i in Int16(8000 * sin(Double(i) * 0.3)) }
        for gap in gaps { for i in gap where i < length { samples[i] = 0 } }
        return samples
    }

    static func chunks(of samples: [Int16], plan: ChunkPlan, block: Int = 4096) throws -> [Chunk] {
        var offset = 0
        let chunker = Chunker(plan: plan) { out in
            guard offset < samples.count else { return false }
            let end = min(samples.count, offset + block)
            out = Array(samples[offset..<end])
            offset = end
            return true
        }
        var result: [Chunk] = []
        while let chunk = try chunker.next() { result.append(chunk) }
        return result
    }

    @Test("Owned ranges tile the stream without gaps or overlaps")
    func ownedRangesTile() throws {
        let samples = Self.signal(length: 16_000 * 47, gaps: [])
        let chunks = try Self.chunks(of: samples, plan: ChunkPlan(chunkSize: 10, overlap: 1))
        #expect(chunks.first?.ownedStart == 0)
        #expect(chunks.last?.ownedEnd == Int64(samples.count))
        for (a, b) in zip(chunks, chunks.dropFirst()) {
            #expect(a.ownedEnd == b.ownedStart)
            #expect(b.index == a.index + 1)
        }
        #expect(chunks.count == 5)
    }

    @Test("A boundary moves to the silent gap nearest the nominal point")
    func boundaryAtSilence() throws {
        // Nominal boundary at 10 s; a 300 ms gap at 10.6 s, inside the 1 s window.
        let gapStart = 16_000 * 106 / 10
        let samples = Self.signal(length: 16_000 * 25, gaps: [gapStart..<(gapStart + 4_800)])
        let chunks = try Self.chunks(of: samples, plan: ChunkPlan(chunkSize: 10, overlap: 0.5))
        let boundary = try #require(chunks.first?.ownedEnd)
        #expect(boundary >= Int64(gapStart) && boundary <= Int64(gapStart + 4_800), "boundary \(boundary) not in the gap")
    }

    @Test("Chunk audio reaches overlap seconds past each owned boundary, clipped at the ends")
    func overlapAudio() throws {
        let samples = Self.signal(length: 16_000 * 30, gaps: [])
        let plan = ChunkPlan(chunkSize: 10, overlap: 1)
        let chunks = try Self.chunks(of: samples, plan: plan)
        #expect(chunks[0].audioStart == 0)
        for chunk in chunks.dropFirst() {
            #expect(chunk.audioStart == chunk.ownedStart - plan.overlapSamples)
        }
        for chunk in chunks.dropLast() {
            #expect(chunk.audioStart + Int64(chunk.samples.count) == chunk.ownedEnd + plan.overlapSamples)
        }
        let last = try #require(chunks.last)
        #expect(last.audioStart + Int64(last.samples.count) == Int64(samples.count))
        // The samples are the stream's own, at the right offsets.
        #expect(Array(chunks[1].samples.prefix(100)) == Array(samples[Int(chunks[1].audioStart)..<Int(chunks[1].audioStart) + 100]))
    }

    @Test("A short stream is one chunk; an empty one is none")
    func shortAndEmpty() throws {
        #expect(try Self.chunks(of: Self.signal(length: 16_000 * 3, gaps: []), plan: ChunkPlan(chunkSize: 10, overlap: 1)).count == 1)
        #expect(try Self.chunks(of: [], plan: ChunkPlan()).isEmpty)
    }

    @Test("Invalid plans are refused with the option named")
    func invalidPlans() {
        #expect(throws: HearingAIError.self) { try ChunkPlan(chunkSize: 1).validate() }
        #expect(throws: HearingAIError.self) { try ChunkPlan(chunkSize: 10, overlap: 5).validate() }
        #expect(throws: HearingAIError.self) { try ChunkPlan(chunkSize: .nan).validate() }
        #expect(throws: Never.self) { try ChunkPlan(chunkSize: 30, overlap: 1).validate() }
    }
}
