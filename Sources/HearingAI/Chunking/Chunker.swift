/// Cuts a stream of 16 kHz samples into ``Chunk``s, placing each boundary at the quietest
/// point near its nominal position so that words are not cut.
///
/// It holds at most one chunk plus its look-ahead (chunk + window + 2 × overlap) in memory,
/// whatever the length of the stream. Not thread-safe: confine to the reading thread.
final class Chunker {
    /// Energy frame: 10 ms.
    static let frameSamples = 160
    /// A boundary is scored by the energy of the 250 ms around it, so that a short stop
    /// consonant inside a word is not mistaken for a pause between words.
    static let scoreFrames = 25

    let plan: ChunkPlan
    private let source: (inout [Int16]) throws -> Bool
    private var buffer: [Int16] = []
    private var bufferStart: Int64 = 0
    private var ownedStart: Int64 = 0
    private var endOfStream = false
    private var nextIndex = 0
    private var block: [Int16] = []

    /// `source` fills its argument with the next block and returns false at the end.
    init(plan: ChunkPlan, source: @escaping (inout [Int16]) throws -> Bool) {
        self.plan = plan
        self.source = source
    }

    private var bufferEnd: Int64 { bufferStart + Int64(buffer.count) }

    /// The next chunk, or nil at the end of the stream.
    func next() throws -> Chunk? {
        let nominalEnd = ownedStart + plan.chunkSamples
        let lookahead = nominalEnd + plan.windowSamples + plan.overlapSamples
        while !endOfStream, bufferEnd < lookahead {
            if try source(&block) {
                buffer.append(contentsOf: block)
            } else {
                endOfStream = true
            }
        }
        guard bufferEnd > ownedStart else { return nil }

        let end: Int64
        if endOfStream, bufferEnd <= nominalEnd + plan.windowSamples {
            end = bufferEnd
        } else {
            end = quietestPoint(around: nominalEnd)
        }
        let audioStart = max(bufferStart, ownedStart - plan.overlapSamples)
        let audioEnd = min(bufferEnd, end + plan.overlapSamples)
        let samples = Array(buffer[Int(audioStart - bufferStart)..<Int(audioEnd - bufferStart)])
        let chunk = Chunk(index: nextIndex, samples: samples, audioStart: audioStart, ownedStart: ownedStart, ownedEnd: end)

        nextIndex += 1
        ownedStart = end
        let keepFrom = max(bufferStart, end - plan.overlapSamples)
        buffer.removeFirst(Int(keepFrom - bufferStart))
        bufferStart = keepFrom
        return chunk
    }

    /// The sample position in `nominal ± window` whose surrounding 250 ms has the least energy;
    /// ties go to the position nearest the nominal one.
    func quietestPoint(around nominal: Int64) -> Int64 {
        let frame = Int64(Self.frameSamples)
        let lo = max(bufferStart, nominal - plan.windowSamples)
        let hi = min(bufferEnd, nominal + plan.windowSamples)
        guard hi - lo >= frame else { return min(max(nominal, bufferStart), bufferEnd) }

        // Per-frame energy over the window widened by half the scoring span on each side.
        let half = Int64(Self.scoreFrames / 2) * frame
        let from = max(bufferStart, lo - half)
        let to = min(bufferEnd, hi + half)
        let frameCount = Int((to - from) / frame)
        var prefix = [Double](repeating: 0, count: frameCount + 1)
        buffer.withUnsafeBufferPointer { samples in
            let base = Int(from - bufferStart)
            for f in 0..<frameCount {
                var energy = 0.0
                let start = base + f * Self.frameSamples
                for i in start..<(start + Self.frameSamples) {
                    let s = Double(samples[i])
                    energy += s * s
                }
                prefix[f + 1] = prefix[f] + energy
            }
        }

        var best = nominal
        var bestScore = Double.infinity
        var bestDistance = Int64.max
        var candidate = lo
        while candidate + frame <= hi {
            let centre = Int((candidate - from) / frame)
            let a = max(0, centre - Self.scoreFrames / 2)
            let b = min(frameCount, centre + Self.scoreFrames / 2 + 1)
            let score = (prefix[b] - prefix[a]) / Double(max(1, b - a))
            let distance = abs(candidate + frame / 2 - nominal)
            if score < bestScore || (score == bestScore && distance < bestDistance) {
                best = candidate + frame / 2
                bestScore = score
                bestDistance = distance
            }
            candidate += frame
        }
        return best
    }
}
