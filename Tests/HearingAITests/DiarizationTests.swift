import Foundation
import TestSupport
import Testing

@testable import HearingAI

/// The scoring itself (`DiarizationErrorRate.swift`, the same definition as `scripts/der.py`),
/// on turns made up for the purpose.
@Suite("Diarization error rate")
struct DiarizationErrorRateTests {
    static func turn(_ start: Double, _ end: Double, _ speaker: String) -> SpeakerTurn {
        SpeakerTurn(start: start, end: end, speaker: speaker)
    }

    /// A: 0–10 s, B: 12–20 s, A: 21–25 s.
    static let reference = [turn(0, 10, "A"), turn(12, 20, "B"), turn(21, 25, "A")]

    @Test("The reference scored against itself: 0")
    func perfect() {
        let score = diarizationErrorRate(reference: Self.reference, hypothesis: Self.reference)
        #expect(score.errorRate == 0)
        #expect(score.missed == 0 && score.falseAlarm == 0 && score.confusion == 0)
        #expect(score.mapping == ["A": "A", "B": "B"])
    }

    @Test("Other names, swapped: still 0 under the optimal mapping")
    func swappedLabels() {
        let hypothesis = [Self.turn(0, 10, "Speaker 2"), Self.turn(12, 20, "Speaker 1"), Self.turn(21, 25, "Speaker 2")]
        let score = diarizationErrorRate(reference: Self.reference, hypothesis: hypothesis)
        #expect(score.errorRate == 0)
        #expect(score.mapping == ["Speaker 2": "A", "Speaker 1": "B"])
    }

    @Test("No hypothesis: everything missed, DER 1")
    func allMissed() {
        let score = diarizationErrorRate(reference: Self.reference, hypothesis: [])
        #expect(score.errorRate == 1)
        #expect(score.missedRate == 1 && score.falseAlarm == 0 && score.confusion == 0)
        // 22 s of speech less 0.25 s inside each of the six boundaries.
        #expect(score.total == 2200 - 6 * 25)
    }

    @Test("One speaker for everyone: the second voice is all confusion")
    func oneSpeakerForAll() {
        let hypothesis = Self.reference.map { Self.turn($0.start, $0.end, "X") }
        let score = diarizationErrorRate(reference: Self.reference, hypothesis: hypothesis, collar: 0)
        #expect(score.confusion == 800 && score.missed == 0 && score.falseAlarm == 0)
        #expect(abs(score.errorRate - 8.0 / 22) < 1e-9)
        #expect(score.mapping == ["X": "A"])
    }

    @Test("A known confusion: 5 s of B's 8 s given to A's label")
    func knownConfusion() {
        let hypothesis = [Self.turn(0, 10, "X"), Self.turn(12, 17, "X"), Self.turn(17, 20, "Y"), Self.turn(21, 25, "X")]
        let score = diarizationErrorRate(reference: Self.reference, hypothesis: hypothesis, collar: 0)
        #expect(score.mapping == ["X": "A", "Y": "B"])
        #expect(score.confusion == 500 && score.missed == 0 && score.falseAlarm == 0)
        #expect(abs(score.errorRate - 5.0 / 22) < 1e-9)
    }

    @Test("More hypothesis speakers than reference: the extra one is confusion")
    func extraSpeaker() {
        let hypothesis = [Self.turn(0, 9, "X"), Self.turn(9, 10, "Z"), Self.turn(12, 20, "Y"), Self.turn(21, 25, "X")]
        let score = diarizationErrorRate(reference: Self.reference, hypothesis: hypothesis, collar: 0)
        #expect(score.mapping == ["X": "A", "Y": "B"])
        #expect(score.confusion == 100)
        #expect(abs(score.errorRate - 1.0 / 22) < 1e-9)
    }

    @Test("Speech where the reference is silent is false alarm; silence where it speaks, missed")
    func missedAndFalseAlarm() {
        let hypothesis = [Self.turn(0, 11, "A"), Self.turn(14, 20, "B"), Self.turn(21, 25, "A")]
        let score = diarizationErrorRate(reference: Self.reference, hypothesis: hypothesis, collar: 0)
        #expect(score.falseAlarm == 100 && score.missed == 200 && score.confusion == 0)
        #expect(abs(score.errorRate - 3.0 / 22) < 1e-9)
    }

    @Test("The collar forgives boundary errors within 0.25 s, and only those")
    func collar() {
        let late = Self.reference.map { Self.turn($0.start + 0.2, $0.end + 0.2, $0.speaker) }
        #expect(diarizationErrorRate(reference: Self.reference, hypothesis: late).errorRate == 0)
        // Without a collar: 0.2 s missed at each start, 0.2 s false alarm at each end.
        let uncollared = diarizationErrorRate(reference: Self.reference, hypothesis: late, collar: 0)
        #expect(uncollared.missed == 3 * 20 && uncollared.falseAlarm == 3 * 20 && uncollared.confusion == 0)
        // Half a second late is past the collar: 0.25 s missed and 0.25 s false alarm per turn.
        let later = Self.reference.map { Self.turn($0.start + 0.5, $0.end + 0.5, $0.speaker) }
        let collared = diarizationErrorRate(reference: Self.reference, hypothesis: later)
        #expect(collared.missed == 3 * 25 && collared.falseAlarm == 3 * 25)
        // Each boundary's collar also leaves the denominator.
        #expect(collared.total == 2200 - 6 * 25)
    }

    @Test(
        "scripts/der.py scores a fixture exactly as the Swift function does",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")))
    func matchesScript() throws {
        let referencePath = Fixtures.path("speech/conversation.turns.tsv")
        let reference = try Fixtures.referenceTurns("speech/conversation.turns.tsv")
        #expect(reference.count == 15)
        // Late by 0.3 s, every fourth turn misattributed, a stray turn in a gap, names swapped.
        var hypothesis = reference.enumerated().map { i, t in
            SpeakerTurn(start: t.start + 0.3, end: t.end + 0.3, speaker: (t.speaker == "rms") != (i % 4 == 3) ? "Speaker 2" : "Speaker 1")
        }
        hypothesis.append(SpeakerTurn(start: reference[2].end + 0.4, end: reference[3].start - 0.1, speaker: "Speaker 3"))
        let score = diarizationErrorRate(reference: reference, hypothesis: hypothesis)
        #expect(score.errorRate > 0.1 && score.missed > 0 && score.falseAlarm > 0 && score.confusion > 0)

        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let hypPath = dir.appendingPathComponent("hyp.json")
        try JSONSerialization.data(withJSONObject: [
            "speakerTurns": hypothesis.map { ["start": $0.start, "end": $0.end, "speaker": $0.speaker] }
        ])
        .write(to: hypPath)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/der.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script.path, referencePath, hypPath.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let expected = String(
            format: "DER %.4f missed %.4f false_alarm %.4f confusion %.4f",
            score.errorRate, score.missedRate, score.falseAlarmRate, score.confusionRate)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == expected)
    }
}

/// The clustering's parts on made-up points.
@Suite("Speaker clustering")
struct SpeakerClusteringTests {
    /// Deterministic noise (SplitMix64), uniform in -1...1.
    struct Noise {
        var state: UInt64
        mutating func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(z >> 11) / Double(1 << 52) - 1
        }
    }

    /// `count` points of `weight` around each of `centres`, in time order (centres interleaved).
    static func points(_ centres: [[Double]], count: Int, spread: Double, weight: Double = 4) -> (
        points: [SpeakerClustering.Point], truth: [Int]
    ) {
        var noise = Noise(state: 42)
        var points: [SpeakerClustering.Point] = [], truth: [Int] = []
        for i in 0..<count {
            let c = (i * 7 + i / 5) % centres.count
            points.append(.init(vector: centres[c].map { $0 + spread * noise.next() }, weight: weight))
            truth.append(c)
        }
        return (points, truth)
    }

    static func sameGrouping(_ a: [Int], _ b: [Int]) -> Bool {
        var map: [Int: Int] = [:]
        for (x, y) in zip(a, b) {
            if let m = map[x], m != y { return false }
            map[x] = y
        }
        return Set(map.values).count == map.count
    }

    @Test("In blocks: 300 points of three voices give the same three clusters as all at once")
    func blocks() {
        let centres: [[Double]] = (0..<3).map { (c: Int) -> [Double] in
            (0..<24).map { (d: Int) -> Double in Double((c * 5 + d * 3) % 7) - 3 }
        }
        let (points, truth) = Self.points(centres, count: 300, spread: 0.5)
        let whole = SpeakerClustering.cluster(points, threshold: 18)
        let blocked = SpeakerClustering.clusterInBlocks(points, threshold: 18, blockSize: 64)
        #expect(Set(whole).count == 3 && Self.sameGrouping(whole, truth))
        #expect(Set(blocked).count == 3 && Self.sameGrouping(blocked, truth))
        // Labels are numbered by first appearance, in blocks as in one piece.
        #expect(blocked == whole)
    }

    @Test("In blocks: points that never merge on their own are forced down, and the bounds hold")
    func blocksForced() {
        let centres: [[Double]] = (0..<300).map { (c: Int) -> [Double] in
            (0..<24).map { (d: Int) -> Double in Double((c * 31 + d * 17) % 101) }
        }
        let (points, _) = Self.points(centres, count: 300, spread: 0)
        let labels = SpeakerClustering.clusterInBlocks(points, threshold: 1, maxClusters: 8, blockSize: 64)
        #expect(labels.count == 300)
        #expect(Set(labels).count == 8)
        let least = SpeakerClustering.clusterInBlocks(Array(points.prefix(40)), threshold: 1e9, minClusters: 3, blockSize: 16)
        #expect(Set(least).count == 3)
    }

    @Test("Whitening divides each direction by how much one voice varies in it (plus the loading)")
    func whitening() {
        // Within-cluster variance 1 along x, 0.01 along y; 100 degrees of freedom.
        let whiten = SpeakerClustering.Whitening(mean: [1, 2], scatter: [100, 0, 0, 1], degrees: 100, fallback: [0, 0])
        let loading = SpeakerClustering.Whitening.loading * (1 + 0.01) / 2
        let y = whiten([2, 3])
        #expect(abs(y[0] - 1 / (1 + loading).squareRoot()) < 1e-6)
        #expect(abs(y[1] - 1 / (0.01 + loading).squareRoot()) < 1e-6)
        // A correlated scatter: the whitened residuals have unit covariance (before loading).
        let w = SpeakerClustering.Whitening(mean: [0, 0], scatter: [4, 2, 2, 3], degrees: 1, fallback: [0, 0])
        #expect(w([0, 0]) == [0, 0])
        // No degrees of freedom: the fallback variance stands in.
        let f = SpeakerClustering.Whitening(mean: [0], scatter: [0], degrees: 0, fallback: [4])
        #expect(abs(f([2])[0] - 2 / (4 * (1 + SpeakerClustering.Whitening.loading)).squareRoot()) < 1e-6)
    }
}

/// Transcriptions shared by the tests that read them: each is made once per test run.
private enum SharedRuns {
    static let conversation = Task { try await transcribe(Fixtures.path("speech/conversation.wav")) }
}

/// Real diarization of the flite conversations, whose turns are known to the sample.
@Suite("Diarization", .timeLimit(.minutes(5)))
struct DiarizationTests {
    /// The target: at most 10% DER (0.25 s collar) on the two- and three-voice conversations.
    static let maximumDER = 0.10

    /// `diarize(name.wav)` scored against `name.turns.tsv`.
    static func diarized(
        _ name: String, options: DiarizationOptions = DiarizationOptions(),
        chunkSize: Double = ChunkPlan.defaultChunkSize
    ) async throws -> (turns: [SpeakerTurn], score: DiarizationScore) {
        let turns = try await diarize(Fixtures.path("speech/\(name).wav"), options: options, chunkSize: chunkSize)
        let reference = try Fixtures.referenceTurns("speech/\(name).turns.tsv")
        let score = diarizationErrorRate(reference: reference, hypothesis: turns)
        log("diarize(\(name).wav, \(options), chunkSize: \(chunkSize)): \(Set(turns.map(\.speaker)).count) speakers, \(score)")
        return (turns, score)
    }

    /// Prints figures when `HEARINGAI_TEST_VERBOSE` is set (failures print them anyway).
    static func log(_ line: String) {
        if ProcessInfo.processInfo.environment["HEARINGAI_TEST_VERBOSE"] != nil { print(line) }
    }

    static func speakers(_ turns: [SpeakerTurn]) -> Set<String> { Set(turns.map(\.speaker)) }

    /// Turns in time order, not overlapping, of positive length, within `duration`, and named
    /// `Speaker 1`, `Speaker 2`, … in order of first appearance.
    static func checkWellFormed(_ turns: [SpeakerTurn], duration: Double) {
        #expect(turns.allSatisfy { $0.end > $0.start && $0.start >= 0 && $0.end <= duration + 0.05 }, "\(turns)")
        for (a, b) in zip(turns, turns.dropFirst()) {
            #expect(b.start >= a.end - 0.001, "overlapping or unordered turns \(a) \(b)")
        }
        var order: [String] = []
        for turn in turns where !order.contains(turn.speaker) { order.append(turn.speaker) }
        #expect(order == (0..<order.count).map { "Speaker \($0 + 1)" }, "labels by first appearance: \(order)")
    }

    @Test("Two voices: found without being told how many, DER ≤ 10%", arguments: [ChunkPlan.defaultChunkSize, 10])
    func twoVoices(chunkSize: Double) async throws {
        let (turns, score) = try await Self.diarized("conversation", chunkSize: chunkSize)
        #expect(score.errorRate <= Self.maximumDER, "chunk size \(chunkSize): \(score)")
        #expect(Self.speakers(turns).count == 2, "chunk size \(chunkSize): \(score)")
        Self.checkWellFormed(turns, duration: 61.5)
    }

    @Test("Three voices: found without being told how many, DER ≤ 10%", arguments: [ChunkPlan.defaultChunkSize, 10])
    func threeVoices(chunkSize: Double) async throws {
        let (turns, score) = try await Self.diarized("conversation3", chunkSize: chunkSize)
        #expect(score.errorRate <= Self.maximumDER, "chunk size \(chunkSize): \(score)")
        #expect(Self.speakers(turns).count == 3, "chunk size \(chunkSize): \(score)")
        Self.checkWellFormed(turns, duration: 60)
    }

    @Test("One voice: one speaker")
    func oneVoice() async throws {
        let turns = try await diarize(Fixtures.path("speech/short.wav"))
        #expect(!turns.isEmpty)
        #expect(Self.speakers(turns) == ["Speaker 1"], "\(turns)")
        Self.checkWellFormed(turns, duration: 4.8)
    }

    @Test(
        "Labels hold across chunk boundaries: 185 s in chunks, DER ≤ 10%",
        arguments: [10.0, ChunkPlan.defaultChunkSize])
    func longFileInChunks(chunkSize: Double) async throws {
        let (turns, score) = try await Self.diarized("long", chunkSize: chunkSize)
        // Speaker 1 swapping identity at a chunk boundary would show as confusion over the rest.
        #expect(score.errorRate <= Self.maximumDER, "chunk size \(chunkSize): \(score)")
        #expect(Self.speakers(turns).count == 2, "chunk size \(chunkSize): \(score)")
        #expect(score.confusionRate <= 0.05, "chunk size \(chunkSize): \(score)")
        Self.checkWellFormed(turns, duration: 185.5)
    }

    @Test("A speaker count is obeyed: three voices told 2 give 2; at most 2 caps them")
    func speakerCounts() async throws {
        let (exact, _) = try await Self.diarized("conversation3", options: DiarizationOptions(speakers: 2))
        #expect(Self.speakers(exact).count == 2)
        let (capped, _) = try await Self.diarized("conversation3", options: DiarizationOptions(maxSpeakers: 2))
        #expect(Self.speakers(capped).count == 2)
        Self.checkWellFormed(capped, duration: 60)
    }

    /// `name.wav` repeated `times` over, diarized with `chunkSize`, scored against its turns
    /// shifted likewise. The file is written piece by piece, never whole in memory.
    static func repeated(_ name: String, times: Int, chunkSize: Double = ChunkPlan.defaultChunkSize) async throws -> (
        turns: [SpeakerTurn], score: DiarizationScore
    ) {
        let samples = try Self.readWAV(Fixtures.path("speech/\(name).wav"))
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("\(name)-x\(times).wav")
        try writeRepeatedWAV(samples, times: times, to: url)
        let once = try Fixtures.referenceTurns("speech/\(name).turns.tsv")
        let shift = Double(samples.count) / 16_000
        let reference = (0..<times).flatMap { k in
            once.map { SpeakerTurn(start: $0.start + Double(k) * shift, end: $0.end + Double(k) * shift, speaker: $0.speaker) }
        }
        let turns = try await diarize(url.path, chunkSize: chunkSize)
        let score = diarizationErrorRate(reference: reference, hypothesis: turns)
        Self.log("diarize(\(name).wav ×\(times), chunkSize: \(chunkSize)): \(Self.speakers(turns).count) speakers, \(score)")
        return (turns, score)
    }

    /// 16-bit mono 16 kHz WAV of `samples` repeated `times`, written one repeat at a time.
    static func writeRepeatedWAV(_ samples: [Int16], times: Int, to url: URL) throws {
        let bytes = samples.count * 2 * times
        var header = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        header.append(contentsOf: Array("RIFF".utf8))
        u32(UInt32(36 + bytes))
        header.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16)
        u16(1)
        u16(1)
        u32(16_000)
        u32(32_000)
        u16(2)
        u16(16)
        header.append(contentsOf: Array("data".utf8))
        u32(UInt32(bytes))
        let body = samples.withUnsafeBytes { Data($0) }
        try header.write(to: url)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        for _ in 0..<times { try handle.write(contentsOf: body) }
    }

    @Test(
        "The same conversation twice over: still two speakers, the same labels in both halves",
        arguments: [("conversation", 2), ("conversation3", 3)])
    func conversationTwice(name: String, voices: Int) async throws {
        let (turns, score) = try await Self.repeated(name, times: 2)
        // A voice split in the repeat would show as an extra speaker; relabelled, as confusion.
        #expect(Self.speakers(turns).count == voices, "\(score)")
        #expect(score.errorRate <= Self.maximumDER, "\(score)")
        #expect(score.confusionRate <= 0.05, "\(score)")
    }

    @Test("One hour (long.wav twenty times over): two speakers from the first chunk to the last")
    func oneHour() async throws {
        let (turns, score) = try await Self.repeated("long", times: 20)
        #expect(Self.speakers(turns).count == 2, "\(score)")
        #expect(score.errorRate <= Self.maximumDER, "\(score)")
        #expect(score.confusionRate <= 0.05, "\(score)")
        Self.checkWellFormed(turns, duration: 20 * 185.5)
    }

    @Test("One voice for minutes (long.wav's rms turns, three times over): one speaker")
    func oneVoiceLong() async throws {
        let samples = try Self.readWAV(Fixtures.path("speech/long.wav"))
        let turns = try Fixtures.referenceTurns("speech/long.turns.tsv").filter { $0.speaker == "rms" }
        var voice: [Int16] = []
        for turn in turns {
            voice += samples[Int(turn.start * 16_000)..<min(samples.count, Int(turn.end * 16_000))]
            voice += [Int16](repeating: 0, count: 6_400)
        }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("rms.wav")
        try Self.writeRepeatedWAV(voice, times: 3, to: url)
        for chunkSize in [10.0, ChunkPlan.defaultChunkSize] {
            let found = try await diarize(url.path, chunkSize: chunkSize)
            Self.log("diarize(rms only ×3, chunkSize: \(chunkSize)): \(Self.speakers(found).count) speakers")
            #expect(Self.speakers(found) == ["Speaker 1"], "chunk size \(chunkSize)")
        }
    }

    /// The samples of a 16-bit mono WAV file (its `data` chunk).
    static func readWAV(_ path: String) throws -> [Int16] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var offset = 12
        while offset + 8 <= data.count {
            let id = String(decoding: data[offset..<(offset + 4)], as: UTF8.self)
            let size = Int(data[offset + 4]) | Int(data[offset + 5]) << 8 | Int(data[offset + 6]) << 16 | Int(data[offset + 7]) << 24
            if id == "data" {
                let body = data[(offset + 8)..<min(data.count, offset + 8 + size)]
                return stride(from: body.startIndex, to: body.endIndex - 1, by: 2).map {
                    Int16(bitPattern: UInt16(body[$0]) | UInt16(body[$0 + 1]) << 8)
                }
            }
            offset += 8 + size + size % 2
        }
        throw CocoaError(.fileReadCorruptFile)
    }

    @Test("Chunks analysed in any order give the same turns (workers finish them in any order)")
    func chunkOrder() async throws {
        let source = try await ChunkSource.open(
            path: Fixtures.path("speech/conversation3.wav"),
            configuration: PipelineConfiguration(chunking: ChunkPlan(chunkSize: 8, overlap: 1)))
        var chunks: [Chunk] = []
        while let chunk = try await source.next() { chunks.append(chunk) }
        source.close()
        #expect(chunks.count >= 6)
        func turns(_ order: [Chunk]) async throws -> [SpeakerTurn] {
            let service = DiarizationService()
            for chunk in order { try await service.analyze(chunk, fileOffset: 0) }
            let turns = try await service.finish()
            await service.close()
            return turns
        }
        let inOrder = try await turns(chunks)
        let reversed = try await turns(chunks.reversed())
        let interleaved = try await turns(
            chunks.enumerated().sorted { ($0.offset % 2, $0.offset) < ($1.offset % 2, $1.offset) }.map(\.element))
        for other in [reversed, interleaved] {
            #expect(other.map(\.speaker) == inOrder.map(\.speaker))
            #expect(
                zip(other, inOrder).allSatisfy { abs($0.start - $1.start) < 0.011 && abs($0.end - $1.end) < 0.011 }, "\(other)\n\(inOrder)")
        }
    }

    @Test("Digital silence: no turns, and transcribe() reports no speakers without an error")
    func silence() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("silence.wav")
        try writeWAV([Int16](repeating: 0, count: 16_000 * 5), to: url)
        #expect(try await diarize(url.path).isEmpty)
        let transcript = try await transcribe(url.path, configuration: PipelineConfiguration(maxWorkers: 1))
        #expect(transcript.speakerTurns.isEmpty)
        #expect(transcript.metadata.diarization?.speakers == 0)
        #expect(transcript.metadata.diarization?.error == nil)
    }

    @Test("A range of the file (--start-time, --end-time): turns on the file's clock, inside the range")
    func timeRange() async throws {
        let (from, to) = (20.0, 45.0)
        let transcript = try await transcribe(
            Fixtures.path("speech/conversation.wav"),
            configuration: PipelineConfiguration(maxWorkers: 1, startTime: from, endTime: to))
        let turns = transcript.speakerTurns
        #expect(turns.allSatisfy { $0.start >= from - 0.01 && $0.end <= to + 0.01 }, "\(turns)")
        let reference = try Fixtures.referenceTurns("speech/conversation.turns.tsv").compactMap { turn -> SpeakerTurn? in
            guard turn.end > from, turn.start < to else { return nil }
            return SpeakerTurn(start: max(from, turn.start), end: min(to, turn.end), speaker: turn.speaker)
        }
        let score = diarizationErrorRate(reference: reference, hypothesis: turns)
        #expect(score.errorRate <= Self.maximumDER, "\(score)")
        #expect(Self.speakers(turns).count == 2)
        #expect(transcript.words.allSatisfy { $0.speaker != nil })
    }

    @Test("The memory reserved for diarization covers three hours, then grows 1.25 MB an hour")
    func reservationGrowsWithLength() {
        let mb = 1_048_576
        #expect(DiarizationService.reservedBytes(forSeconds: 60) == 4 * mb)
        #expect(DiarizationService.reservedBytes(forSeconds: 3 * 3600) == 4 * mb)
        #expect(DiarizationService.reservedBytes(forSeconds: 4 * 3600) == 4 * mb + mb * 5 / 4)
        #expect(DiarizationService.reservedBytes(forSeconds: 11 * 3600) == 14 * mb)
    }

    @Test("Impossible speaker counts are refused")
    func invalidCounts() async throws {
        let path = Fixtures.path("speech/short.wav")
        await #expect(throws: HearingAIError.self) { try await diarize(path, options: DiarizationOptions(speakers: 0)) }
        await #expect(throws: HearingAIError.self) { try await diarize(path, options: DiarizationOptions(minSpeakers: 3, maxSpeakers: 2)) }
        await #expect(throws: HearingAIError.self) { try await diarize(path, options: DiarizationOptions(minSpeakers: 0)) }
    }

    @Test("transcribe(): every word has a speaker, segments never mix speakers, txt names them")
    func transcriptSpeakers() async throws {
        let transcript = try await SharedRuns.conversation.value
        let words = transcript.words
        #expect(words.count > 100)
        #expect(words.allSatisfy { $0.speaker != nil }, "words without a speaker: \(words.filter { $0.speaker == nil }.map(\.text))")
        #expect(transcript.segments.allSatisfy { $0.speaker != nil })
        let mixed = transcript.segments.filter { segment in !segment.words.allSatisfy { $0.speaker == segment.speaker } }
        #expect(mixed.isEmpty, "segments mixing speakers: \(mixed.map { $0.words.map { "\($0.text)/\($0.speaker ?? "-")" } })")
        #expect(Set(words.compactMap(\.speaker)) == ["Speaker 1", "Speaker 2"])
        #expect(Self.speakers(transcript.speakerTurns) == ["Speaker 1", "Speaker 2"])
        Self.checkWellFormed(transcript.speakerTurns, duration: 61.5)
        let summary = try #require(transcript.metadata.diarization)
        #expect(summary.speakers == 2)
        #expect(summary.error == nil)
        #expect(summary.seconds >= 0)

        // The turns transcribe() found score as well as diarize()'s.
        let reference = try Fixtures.referenceTurns("speech/conversation.turns.tsv")
        let score = diarizationErrorRate(reference: reference, hypothesis: transcript.speakerTurns)
        #expect(score.errorRate <= Self.maximumDER, "\(score)")
        Self.log("transcribe(conversation.wav): \(summary.speakers) speakers in \(summary.seconds) s, \(score)")

        // txt: every paragraph opens with its speaker; the first voice is Speaker 1; both appear.
        let text = try transcript.rendered(as: .txt)
        let paragraphs = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(paragraphs.count >= 10, "\(paragraphs.count) paragraphs for 15 turns")
        #expect(paragraphs.allSatisfy { $0.hasPrefix("Speaker 1: ") || $0.hasPrefix("Speaker 2: ") }, "\(text)")
        #expect(text.hasPrefix("Speaker 1: "))
        #expect(paragraphs.contains { $0.hasPrefix("Speaker 2: ") })

        // JSON: top-level speakerTurns, speakers on segments and words.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(transcript.rendered(as: .json).utf8)) as? [String: Any])
        let jsonTurns = try #require(json["speakerTurns"] as? [[String: Any]])
        #expect(jsonTurns.count == transcript.speakerTurns.count)
        #expect(jsonTurns.allSatisfy { $0["start"] is Double && $0["end"] is Double && $0["speaker"] is String })
        let segments = try #require(json["segments"] as? [[String: Any]])
        #expect(segments.allSatisfy { $0["speaker"] is String })
        #expect(segments.allSatisfy { ($0["words"] as? [[String: Any]])?.allSatisfy { $0["speaker"] is String } == true })
    }

    @Test("transcribe(): words inside a turn carry that turn's voice (≥ 90%)")
    func wordSpeakers() async throws {
        let transcript = try await SharedRuns.conversation.value
        let reference = try Fixtures.referenceTurns("speech/conversation.turns.tsv")
        // The voices the labels stand for: the mapping that scores the transcript's turns best.
        let mapping = diarizationErrorRate(reference: reference, hypothesis: transcript.speakerTurns).mapping
        var right = 0, wrong: [String] = []
        for word in transcript.words {
            let middle = (word.start + word.end) / 2
            guard let turn = reference.first(where: { $0.start + 0.25 <= middle && middle <= $0.end - 0.25 }) else { continue }
            if let speaker = word.speaker, mapping[speaker] == turn.speaker {
                right += 1
            } else {
                wrong.append("\(word.text)@\(String(format: "%.2f", word.start)):\(word.speaker ?? "-")≠\(turn.speaker)")
            }
        }
        let judged = right + wrong.count
        #expect(judged >= 100, "only \(judged) words inside turns")
        let accuracy = Double(right) / Double(max(1, judged))
        Self.log("transcribe(conversation.wav): \(right)/\(judged) words inside turns on the right voice")
        #expect(accuracy >= 0.9, "\(right)/\(judged) words on the right voice; wrong: \(wrong)")
    }

    @Test("transcribe() with diarization off: no speakers anywhere")
    func disabled() async throws {
        let options = PipelineConfiguration(diarization: DiarizationOptions(enabled: false))
        let transcript = try await transcribe(Fixtures.path("speech/conversation.wav"), configuration: options)
        #expect(transcript.words.count > 100)
        #expect(transcript.words.allSatisfy { $0.speaker == nil })
        #expect(transcript.segments.allSatisfy { $0.speaker == nil })
        #expect(transcript.speakerTurns.isEmpty)
        #expect(!(try transcript.rendered(as: .txt)).contains("Speaker 1:"))
    }
}
