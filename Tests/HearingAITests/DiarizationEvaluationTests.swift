import Foundation
import TestSupport
import Testing

@testable import HearingAI

/// Issue 13: the speaker-count promises and the quality targets on the evaluation set
/// (fixtures/real: real recordings with published speaker references; fixtures/hard: flite and
/// espeak-ng conversations through noise, music, reverb and a telephone channel). Real files,
/// the real diarizer; scripts/bench-quality.sh gives the same figures through the binary.
@Suite("Diarization on the evaluation set", .timeLimit(.minutes(10)))
struct DiarizationEvaluationTests {
    /// `diarize(NAME.wav)` scored against `NAME.rttm`, with the true number of speakers.
    static func diarized(_ name: String, options: DiarizationOptions = DiarizationOptions()) async throws -> (
        turns: [SpeakerTurn], score: DiarizationScore, voices: Int
    ) {
        let reference = try Fixtures.rttmTurns("\(name).rttm")
        let turns = try await diarize(Fixtures.path("\(name).wav"), options: options)
        let score = diarizationErrorRate(reference: reference, hypothesis: turns)
        DiarizationTests.log("diarize(\(name).wav, \(options)): \(DiarizationTests.speakers(turns).count) speakers, \(score)")
        return (turns, score, Set(reference.map(\.speaker)).count)
    }

    static let conversations = [
        "real/phone-call", "real/meeting-dev00", "real/meeting-dev01", "real/meeting-trn06", "real/meeting-tst00",
        "hard/duo-espeak", "hard/duo-overlap", "hard/duo-noise5",
    ]

    @Test("--speakers N is a promise: exactly N speakers on real and hard conversations", arguments: conversations)
    func speakersPromise(name: String) async throws {
        let voices = Set(try Fixtures.rttmTurns("\(name).rttm").map(\.speaker)).count
        let (turns, score, _) = try await Self.diarized(name, options: DiarizationOptions(speakers: voices))
        #expect(DiarizationTests.speakers(turns).count == voices, "\(name) --speakers \(voices): \(score)")
        DiarizationTests.checkWellFormed(turns, duration: 31)
    }

    @Test("--speakers N holds beyond the voices present, given N windows of speech")
    func speakersBeyondVoices() async throws {
        // One reader told 2, a two-person call told 3: the promise is about speech, not voices.
        for (name, count) in [("real/read-passage", 2), ("real/phone-call", 3), ("hard/duo", 5)] {
            let turns = try await diarize(Fixtures.path("\(name).wav"), options: DiarizationOptions(speakers: count))
            #expect(DiarizationTests.speakers(turns).count == count, "\(name) --speakers \(count)")
            DiarizationTests.checkWellFormed(turns, duration: 31)
        }
    }

    @Test("--min-speakers and --max-speakers are bounds that hold")
    func bounds() async throws {
        let atLeast = try await diarize(Fixtures.path("real/phone-call.wav"), options: DiarizationOptions(minSpeakers: 2))
        #expect(DiarizationTests.speakers(atLeast).count >= 2)
        let capped = try await diarize(Fixtures.path("real/meeting-tst00.wav"), options: DiarizationOptions(maxSpeakers: 1))
        #expect(DiarizationTests.speakers(capped) == ["Speaker 1"])
        let between = try await diarize(
            Fixtures.path("real/read-passage.wav"), options: DiarizationOptions(minSpeakers: 2, maxSpeakers: 3))
        #expect((2...3).contains(DiarizationTests.speakers(between).count))
        let three = try await diarize(
            Fixtures.path("speech/conversation3.wav"), options: DiarizationOptions(minSpeakers: 1, maxSpeakers: 2))
        #expect(DiarizationTests.speakers(three).count == 2)
    }

    /// Files whose no-hint target issue 13 sets and this diarizer meets: the flite pair at most
    /// 1% DER, the noisy, musical, reverberant and telephone variants at 10 dB SNR or better at
    /// most 10%, each with the right number of speakers found unaided. (The targets it does not
    /// meet are in docs/benchmarks.md, with the gaps.)
    static let met: [(name: String, der: Double)] = [
        ("hard/duo", 0.01), ("hard/duo-level20", 0.01), ("hard/duo-phone", 0.01), ("hard/duo-reverb", 0.10),
        ("hard/duo-noise20", 0.10), ("hard/duo-noise10", 0.10), ("hard/duo-music10", 0.10),
        ("hard/duo-phone-noise10", 0.10), ("hard/duo-mixed", 0.10),
    ]

    @Test("Targets met without a hint: DER and the speaker count", arguments: met.map(\.name))
    func targets(name: String) async throws {
        let limit = Self.met.first { $0.name == name }!.der
        let (turns, score, voices) = try await Self.diarized(name)
        #expect(score.errorRate <= limit, "\(name): \(score)")
        #expect(DiarizationTests.speakers(turns).count == voices, "\(name): \(score)")
    }

    @Test("One real reader: one speaker")
    func oneReader() async throws {
        let (turns, score, _) = try await Self.diarized("real/read-passage")
        #expect(DiarizationTests.speakers(turns) == ["Speaker 1"], "\(score)")
        #expect(score.errorRate <= 0.05, "\(score)")
    }
}

/// The parts of the revisable end of diarization, on made-up vectors.
@Suite("Speaker count bounds and resegmentation")
struct SpeakerResegmentationTests {
    /// `counts[c]` vectors around centre `c` (the centres far apart), in that order.
    static func vectors(_ counts: [Int], spread: Float = 0.1) -> SpeakerClustering.Vectors {
        var noise = SpeakerClusteringTests.Noise(state: 7)
        var values: [Float] = []
        for (c, count) in counts.enumerated() {
            for _ in 0..<count { values += (0..<4).map { d in Float(d == c % 4 ? 10 * (c / 4 + 1) : 0) + spread * Float(noise.next()) } }
        }
        return SpeakerClustering.Vectors(values: values, dimensions: 4)
    }

    @Test("A stray of one window is folded into its neighbour, not counted as a speaker")
    func strays() {
        let v = Self.vectors([30, 30, 1])
        let labels = SpeakerClustering.settle(
            v, labels: Array(repeating: 0, count: 30) + Array(repeating: 1, count: 30) + [2], minClusters: 1, maxClusters: 8)
        #expect(Set(labels).count == 2)
    }

    @Test("Too few clusters are split until the minimum holds; too many merged to the maximum")
    func bounds() {
        let v = Self.vectors([20, 20, 20])
        let split = SpeakerClustering.settle(v, labels: Array(repeating: 0, count: 60), minClusters: 3, maxClusters: 3)
        #expect(Set(split).count == 3)
        // Split along the data: the three groups come out whole.
        #expect(SpeakerClusteringTests.sameGrouping(SpeakerClustering.reassign(v, labels: split, clusters: 3), (0..<60).map { $0 / 20 }))
        let merged = SpeakerClustering.settle(v, labels: (0..<60).map { $0 / 20 }, minClusters: 1, maxClusters: 2)
        #expect(Set(merged).count == 2)
        // Identical vectors still split when a count is demanded.
        let same = SpeakerClustering.Vectors(values: [Float](repeating: 1, count: 40), dimensions: 4)
        #expect(Set(SpeakerClustering.settle(same, labels: Array(repeating: 0, count: 10), minClusters: 2, maxClusters: 2)).count == 2)
    }

    @Test("Resegmentation corrects a window given to the wrong speaker, and never loses a speaker")
    func resegment() {
        let v = Self.vectors([10, 10])
        var labels = (0..<20).map { $0 / 10 }
        labels[3] = 1
        let region = Array(repeating: 0, count: 20)
        #expect(SpeakerClustering.resegment(v, labels: labels, region: region) == (0..<20).map { $0 / 10 })
        // A lone window of a second voice inside one region: the penalty would absorb it, so the
        // pass is not taken and the speaker stays.
        let lone = Self.vectors([19, 1])
        let kept = SpeakerClustering.resegment(lone, labels: Array(repeating: 0, count: 19) + [1], region: region)
        #expect(Set(kept).count == 2)
    }
}

/// The voice-activity detector on made-up energies.
@Suite("Voice activity")
struct VoiceActivityTests {
    @Test("Speech 10 dB over a steady noise floor is found; digital silence is not speech")
    func noisyFloor() {
        // 1 s noise at -40 dBFS, 2 s speech at -30, 1 s noise, 1 s speech, in 10 ms frames.
        let energy: [Float] =
            Array(repeating: -40, count: 100) + Array(repeating: -30, count: 200)
            + Array(repeating: -40, count: 100) + Array(repeating: -30, count: 100)
        let regions = DiarizationService.speechRegions(energy)
        #expect(regions.count == 2)
        #expect(regions.allSatisfy { abs($0.count - 200) <= 5 || abs($0.count - 100) <= 5 }, "\(regions)")
        #expect(DiarizationService.speechRegions(Array(repeating: -120, count: 500)).isEmpty)
    }
}
