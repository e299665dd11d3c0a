import Testing

@testable import HearingAI

/// The scheduling of context runs, driven as the orchestrator drives it: chunks handed over in
/// order when accepted, and finished in whatever order the workers finish them.
@Suite("Context runs: which chunk may decode, and what it is told")
struct ContextRunsTests {
    /// A 10 s chunk `index` of a stream cut every 10 s with 1 s of overlap.
    func chunk(_ index: Int) -> Chunk {
        let owned = Int64(index) * 160_000
        let start = max(0, owned - 16_000)
        return Chunk(index: index, samples: [], audioStart: start, ownedStart: owned, ownedEnd: owned + 160_000)
    }

    /// Two words in each chunk's own time: one early, one in the last second (heard again at the
    /// start of the next chunk).
    func words(of index: Int) -> [Word] {
        let start = Double(index) * 10
        return [
            Word(text: "early\(index)", start: start + 1, end: start + 2, confidence: 1),
            Word(text: "late\(index)", start: start + 9.2, end: start + 9.8, confidence: 1),
        ]
    }

    /// Drives `count` chunks through runs of `length` on `slots` workers, finishing the chunk
    /// `pick` chooses among those decoding. Returns the order chunks started in and what each
    /// was told, checking the invariants at every step.
    func drive(count: Int, length: Int, slots: Int, pick: (inout [Chunk]) -> Chunk) -> (order: [Int], told: [Int: String?]) {
        var runs = ContextRuns(length: length, slots: slots)
        var decoding: [Chunk] = []
        var order: [Int] = []
        var told: [Int: String?] = [:]
        var finishedChunks: Set<Int> = []
        var held = 0
        func started(_ chunks: [Chunk]) {
            for chunk in chunks {
                // A run's chunk starts only after the one before it finished.
                if chunk.index % length != 0 { #expect(finishedChunks.contains(chunk.index - 1), "chunk \(chunk.index)") }
                #expect(!decoding.contains { $0.index / length == chunk.index / length }, "one chunk of a run at a time")
                decoding.append(chunk)
                order.append(chunk.index)
                told[chunk.index] = chunk.precedingText
            }
        }
        func finishOne() {
            let chunk = pick(&decoding)
            finishedChunks.insert(chunk.index)
            held -= 1
            started(runs.finished(chunk.index, words: words(of: chunk.index)))
        }
        for index in 0..<count {
            while !runs.accepts(index) { finishOne() }
            held += 1
            started(runs.add(chunk(index)))
            #expect(runs.openRuns <= slots)
            #expect(decoding.count <= slots)
            #expect(held <= slots * length, "chunks read and not finished")
        }
        runs.endOfInput()
        while !decoding.isEmpty { finishOne() }
        #expect(runs.openRuns == 0)
        #expect(finishedChunks == Set(0..<count))
        return (order, told)
    }

    @Test("A chunk is told the words of its run before its audio; the first of a run is told nothing", arguments: [1, 2, 3])
    func told(slots: Int) {
        let (_, told) = drive(count: 11, length: 4, slots: slots) { $0.removeFirst() }
        for index in 0..<11 {
            let runStart = index / 4 * 4
            if index == runStart {
                #expect(told[index] == .some(nil), "chunk \(index)")
                continue
            }
            // Every word of the run so far, except the last chunk's late word: it lies in this
            // chunk's overlap and is heard again.
            var expected: [String] = []
            for earlier in runStart..<index {
                expected.append("early\(earlier)")
                if earlier < index - 1 { expected.append("late\(earlier)") }
            }
            #expect(told[index] == .some(expected.joined(separator: " ")), "chunk \(index)")
        }
    }

    @Test("What a chunk is told does not depend on the workers or the order they finish in")
    func deterministic() {
        var generator = SystemRandomNumberGenerator()
        let reference = drive(count: 23, length: 5, slots: 1) { $0.removeFirst() }.told
        for slots in 2...4 {
            let told = drive(count: 23, length: 5, slots: slots) { decoding in
                decoding.remove(at: Int.random(in: decoding.indices, using: &generator))
            }.told
            #expect(told == reference, "\(slots) slots")
        }
    }

    @Test("Runs decode side by side: with 2 slots, the second run starts before the first ends")
    func parallel() {
        let (order, _) = drive(count: 8, length: 4, slots: 2) { $0.removeFirst() }
        #expect(order.firstIndex(of: 4)! < order.firstIndex(of: 3)!)
    }

    @Test("A length of 1 is plain parallel decoding: every chunk independent, as many at once as slots")
    func lengthOne() {
        let (order, told) = drive(count: 9, length: 1, slots: 3) { $0.removeLast() }
        #expect(Set(order) == Set(0..<9))
        #expect(told.values.allSatisfy { $0 == nil })
        #expect(ContextRuns.queuedChunksPerSlot(length: 1) == 0)
        #expect(ContextRuns.queuedChunksPerSlot(length: 8) == 7)
    }

    @Test("The text is cut from its start, in whole words, at 1000 characters")
    func bounded() {
        let many = (0..<400).map { Word(text: "w\($0)", start: Double($0), end: Double($0) + 0.5, confidence: 1) }
        let text = ContextRuns.precedingText(many, before: 1000)
        #expect(text.count <= ContextRuns.maxPrecedingCharacters)
        #expect(text.hasSuffix("w399"))
        #expect(text.split(separator: " ").allSatisfy { $0.hasPrefix("w") })
        #expect(ContextRuns.precedingText(many, before: 10) == "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9")
    }
}
