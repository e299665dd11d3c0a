import Foundation
public import HearingAI

/// Checks a Whisper-class server's answer for a chunk against what the chunk's audio can
/// support, the way Whisper's own long-form decoding does, and drops what it cannot:
///
/// - **text over silence**: a segment whose time holds almost no speech energy;
/// - **a repeat**: a segment whose words are the previous segment's (within the chunk, or the
///   last segment of the chunk before, when known);
/// - **a loop**: a segment whose text compresses too well (Whisper's rule: a compression ratio
///   above 2.4), or that the server itself reports so.
///
/// A loop is also a reason to ask again with the temperature raised (``wantsRetry``), and an
/// answer that leaves speech out after a prompt (``skipsSpeech(_:speech:chunkSeconds:)``) one
/// to ask again without the prompt's text.
public struct HallucinationGuard: Sendable {
    /// Above this compression ratio a segment is a loop (Whisper's `compression_ratio_threshold`).
    public var maxCompressionRatio = 2.4
    /// A segment with less than this share of its frames holding speech is over silence.
    public var minSpeechShare = 0.1
    /// An answer has left speech out when this much of the chunk's speech (seconds of frames
    /// the ``SpeechMap`` marks) lies between two of its words, or before the first or after
    /// the last; between words people pause for a second or two, not for this long.
    public var maxUnheardSpeechSeconds = 6.0
    /// Without word times: a segment with at least ``maxUnheardSpeechSeconds`` of speech and
    /// fewer words than this per second of it has left speech out (speech runs at 2 to 4).
    public var minWordsPerSpeechSecond = 0.7

    /// A guard with Whisper's thresholds.
    public init() {}

    /// The segments of `segments` that the audio supports, and what was dropped. `speech`
    /// tells which stretches of the chunk hold speech (``SpeechMap``); `previous` is the text
    /// of the segment just before the first, when known.
    public func filter(_ segments: [TranscriptionResponse.Segment], speech: SpeechMap, previous: String? = nil)
        -> (kept: [TranscriptionResponse.Segment], counts: GuardCounts)
    {
        let (indices, counts) = keptIndices(segments, speech: speech, previous: previous)
        return (indices.map { segments[$0] }, counts)
    }

    /// The positions in `segments` of the segments ``filter(_:speech:previous:)`` keeps, and
    /// what was dropped.
    public func keptIndices(_ segments: [TranscriptionResponse.Segment], speech: SpeechMap, previous: String? = nil)
        -> (kept: [Int], counts: GuardCounts)
    {
        var kept: [Int] = []
        var counts = GuardCounts()
        var last = previous.map(Self.normalised)
        for (index, segment) in segments.enumerated() {
            let text = Self.normalised(segment.text)
            if text.isEmpty { continue }
            if speech.share(from: segment.start, to: segment.end) < minSpeechShare {
                counts.overSilence += 1
                continue
            }
            if let last, text == last, text.split(separator: " ").count >= 2 {
                counts.repeats += 1
                continue
            }
            if isLoop(segment) {
                counts.loops += 1
                continue
            }
            kept.append(index)
            last = text
        }
        return (kept, counts)
    }

    /// Whether the answer is worth asking for again with a higher temperature: a loop was
    /// dropped, as Whisper falls back to sampling when greedy decoding loops.
    public func wantsRetry(_ counts: GuardCounts) -> Bool { counts.loops > 0 }

    /// The longest a word is taken to last, however long the server times it.
    static let longestWordSeconds = 2.0

    /// Whether `answer` (as kept) leaves speech out of a chunk of `chunkSeconds`: more than
    /// ``maxUnheardSpeechSeconds`` of speech between its timed words (or before the first, or
    /// after the last; a word counts for its first two seconds at most), or, when the server gave no word times, a segment with fewer than
    /// ``minWordsPerSpeechSecond`` words a second of its speech. Whisper does this after a
    /// prompt now and then: it jumps ahead and writes one sentence over twenty seconds of talk.
    public func skipsSpeech(_ answer: TranscriptionResponse, speech: SpeechMap, chunkSeconds: Double) -> Bool {
        func speechSeconds(_ start: Double, _ end: Double) -> Double {
            end > start ? speech.share(from: start, to: end) * (end - start) : 0
        }
        if let words = answer.words, !words.isEmpty {
            var previousEnd = 0.0
            for word in words {
                if speechSeconds(previousEnd, word.start) > maxUnheardSpeechSeconds { return true }
                // A word is not heard over more than a couple of seconds: one "word" stretched
                // over twenty seconds of talk is the same skip.
                previousEnd = max(previousEnd, min(word.end, word.start + Self.longestWordSeconds))
            }
            return speechSeconds(previousEnd, chunkSeconds) > maxUnheardSpeechSeconds
        }
        guard let segments = answer.segments, !segments.isEmpty else {
            return speechSeconds(0, chunkSeconds) > maxUnheardSpeechSeconds
        }
        return segments.contains { segment in
            let seconds = speechSeconds(segment.start, segment.end)
            guard seconds >= maxUnheardSpeechSeconds else { return false }
            return Double(Self.normalised(segment.text).split(separator: " ").count) / seconds < minWordsPerSpeechSecond
        }
    }

    /// Whether `segment` is a loop: its own compression ratio (the server's, else ours) above
    /// ``maxCompressionRatio``.
    func isLoop(_ segment: TranscriptionResponse.Segment) -> Bool {
        (segment.compressionRatio ?? Self.compressionRatio(segment.text)) > maxCompressionRatio
    }

    /// The text's length over the length of its LZ77 encoding (a window of 4 KB, matches of
    /// 3 bytes or more counted as 3 bytes, literals as 1): about what zlib gives, which
    /// Whisper's rule is tuned to. Text that repeats itself compresses well.
    static func compressionRatio(_ text: String) -> Double {
        let bytes = Array(text.utf8)
        guard bytes.count > 16 else { return 1 }
        var cost = 0
        var index = 0
        while index < bytes.count {
            var best = 0
            let windowStart = max(0, index - 4096)
            var candidate = windowStart
            while candidate < index {
                var length = 0
                while index + length < bytes.count, bytes[candidate + length] == bytes[index + length], length < 258 { length += 1 }
                if length > best { best = length }
                candidate += 1
            }
            if best >= 3 {
                cost += 3
                index += best
            } else {
                cost += 1
                index += 1
            }
        }
        return Double(bytes.count) / Double(max(1, cost))
    }

    /// Lower case letters, digits and apostrophes, words separated by one space.
    static func normalised(_ text: String) -> String {
        text.lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "'") }).joined(separator: " ")
    }
}

/// Where a chunk holds speech, by frame energy: 30 ms frames, speech where the level is at
/// least 12 dB over the chunk's quiet floor (its 10th percentile) and over an absolute floor.
public struct SpeechMap: Sendable {
    /// Seconds per frame.
    public static let frameSeconds = 0.03
    private let speech: [Bool]

    /// The map of `samples` (16 kHz).
    public init(samples: [Int16], sampleRate: Int = ChunkPlan.sampleRate) {
        let frame = max(1, Int(Double(sampleRate) * Self.frameSeconds))
        var levels: [Double] = []
        var index = 0
        while index < samples.count {
            let end = min(samples.count, index + frame)
            var sum = 0.0
            for sample in samples[index..<end] { sum += Double(sample) * Double(sample) }
            levels.append(10 * log10(max(sum / Double(end - index), 1)))
            index = end
        }
        let sorted = levels.sorted()
        let floor = sorted.isEmpty ? 0 : sorted[sorted.count / 10]
        let loud = sorted.isEmpty ? 0 : sorted[sorted.count * 9 / 10]
        // 12 dB over the quiet floor, or 20 dB under the loud frames when the chunk is speech
        // throughout; never below -50 dBFS (40 here, full scale being 90).
        let threshold = max(min(floor + 12, loud - 20), 40)
        speech = levels.map { $0 >= threshold }
    }

    /// Whether any frame holds speech.
    public var hasSpeech: Bool { speech.contains(true) }

    /// The share of the frames from `start` to `end` (seconds) that hold speech.
    public func share(from start: Double, to end: Double) -> Double {
        let first = max(0, Int(start / Self.frameSeconds))
        let last = min(speech.count, Int((end / Self.frameSeconds).rounded(.up)))
        guard last > first else { return 0 }
        return Double(speech[first..<last].filter { $0 }.count) / Double(last - first)
    }
}
