import Foundation
import HearingAI
import Testing

@testable import HearingAIOpenAI

@Suite("Hallucination guards")
struct HallucinationGuardTests {
    typealias Segment = TranscriptionResponse.Segment

    /// `seconds` of a 220 Hz tone at about -20 dBFS (speech-like level) or of faint noise at
    /// about -65 dBFS, by the pattern's letters: "s" one second of tone, "." one of noise.
    static func audio(_ pattern: String) -> [Int16] {
        var samples: [Int16] = []
        var state: UInt32 = 1
        for letter in pattern {
            for n in 0..<16_000 {
                if letter == "s" {
                    samples.append(Int16(3_000 * sin(2 * Double.pi * 220 * Double(n) / 16_000)))
                } else {
                    state = state &* 1_103_515_245 &+ 12_345
                    samples.append(Int16(Int(state >> 16) % 36) - 18)
                }
            }
        }
        return samples
    }

    @Test("The speech map finds the loud seconds and only them; a silent chunk has no speech")
    func speechMap() {
        let map = SpeechMap(samples: Self.audio("ss..ss...."))
        #expect(map.hasSpeech)
        #expect(map.share(from: 0, to: 2) > 0.95)
        #expect(map.share(from: 2.1, to: 3.9) < 0.05)
        #expect(map.share(from: 6, to: 10) < 0.05)
        #expect(!SpeechMap(samples: Self.audio("......")).hasSpeech)
        // Speech throughout (no quiet floor) is still speech.
        #expect(SpeechMap(samples: Self.audio("ssssss")).share(from: 0, to: 6) > 0.95)
    }

    @Test("Skipping ahead: more than 6 s of speech between two words, or a segment with under 0.7 words a second of speech")
    func skipsSpeech() {
        typealias TimedWord = TranscriptionResponse.TimedWord
        // 20 s of talk with 1 s pauses every 4 s.
        let speech = SpeechMap(samples: Self.audio("ssss.ssss.ssss.ssss."))
        let guardrail = HallucinationGuard()
        func words(_ times: [Double]) -> [TimedWord] { times.map { TimedWord(word: "w", start: $0, end: $0 + 0.3) } }
        let steady = TranscriptionResponse(words: words(stride(from: 0.1, to: 19, by: 0.4).map { $0 }))
        #expect(!guardrail.skipsSpeech(steady, speech: speech, chunkSeconds: 20))
        // The words of the first four seconds and the last three: 12 s of speech between.
        let skipped = TranscriptionResponse(words: words([0.2, 1, 2, 3, 16, 17, 18.5]))
        #expect(guardrail.skipsSpeech(skipped, speech: speech, chunkSeconds: 20))
        // A pause of silence is no gap in what was heard: 10 s of quiet between words.
        let paused = SpeechMap(samples: Self.audio("sss..........sss"))
        #expect(!guardrail.skipsSpeech(TranscriptionResponse(words: words([0.5, 1.5, 2.5, 13.5, 14.5])), speech: paused, chunkSeconds: 16))
        // One word stretched over 14 s of talk is the same skip (seen: "country." from 2 s to 30 s).
        let stretched = TranscriptionResponse(words: [
            TimedWord(word: "the", start: 0.1, end: 0.4), TimedWord(word: "country.", start: 0.4, end: 17.8),
            TimedWord(word: "We", start: 18, end: 18.3), TimedWord(word: "will", start: 18.3, end: 18.6),
        ])
        #expect(guardrail.skipsSpeech(stretched, speech: speech, chunkSeconds: 20))
        // Words stop early: the last 8 s of speech unheard.
        let early = TranscriptionResponse(words: words(stride(from: 0.1, to: 11, by: 0.4).map { $0 }))
        #expect(guardrail.skipsSpeech(early, speech: speech, chunkSeconds: 20))
        // Without word times: one segment of 8 words over 16 s of speech is too few.
        let sparse = TranscriptionResponse(segments: [Segment(start: 0, end: 20, text: String(repeating: " word", count: 8))])
        #expect(guardrail.skipsSpeech(sparse, speech: speech, chunkSeconds: 20))
        let dense = TranscriptionResponse(segments: [Segment(start: 0, end: 20, text: String(repeating: " word", count: 45))])
        #expect(!guardrail.skipsSpeech(dense, speech: speech, chunkSeconds: 20))
        #expect(guardrail.skipsSpeech(TranscriptionResponse(segments: []), speech: speech, chunkSeconds: 20))
    }

    @Test("Whisper's 2.4 rule: a looping segment compresses far better than a sentence")
    func compression() {
        let sentence = "the store was out of fresh bread when i got there so we had soup for lunch instead"
        let loop = String(repeating: "thank you for watching. ", count: 8)
        #expect(HallucinationGuard.compressionRatio(sentence) < 2.0)
        #expect(HallucinationGuard.compressionRatio(loop) > 2.4)
    }

    @Test("Text over silence, a repeat of the segment before and a loop are dropped and counted; speech is kept")
    func filter() {
        let speech = SpeechMap(samples: Self.audio("sss...sss..."))
        let segments = [
            Segment(start: 0.2, end: 2.8, text: " The store was out of bread."),
            Segment(start: 3.2, end: 5.6, text: " Thank you for watching."),  // over silence
            Segment(start: 6.1, end: 7.0, text: " The store was out of bread."),  // a repeat of the kept one before
            Segment(start: 7.0, end: 8.9, text: String(repeating: " so so so so so so", count: 6)),  // a loop
            Segment(start: 6.2, end: 8.8, text: " We had soup instead.", compressionRatio: 1.2),
        ]
        let guardrail = HallucinationGuard()
        let (kept, counts) = guardrail.filter(segments, speech: speech)
        #expect(kept.map(\.text) == [" The store was out of bread.", " We had soup instead."])
        #expect(counts == GuardCounts(overSilence: 1, repeats: 1, loops: 1))
        #expect(guardrail.wantsRetry(counts))
        // The server's own compression ratio is believed when it sends one.
        let reported = [Segment(start: 0.2, end: 2.8, text: " A plain sentence here.", compressionRatio: 3.1)]
        #expect(guardrail.filter(reported, speech: speech).counts.loops == 1)
        // The previous chunk's last segment counts as the one before.
        let continued = guardrail.filter([segments[0]], speech: speech, previous: "the store was out of bread")
        #expect(continued.kept.isEmpty && continued.counts.repeats == 1)
    }
}
