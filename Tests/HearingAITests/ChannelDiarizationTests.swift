import Foundation
import TestSupport
import Testing

@testable import HearingAI

/// Issue 13, speakers from channels: studio sessions made by make-fixtures (fixtures/studio: a
/// flite voice per channel, every other voice 20 dB down on it, overlapping turns), read from
/// real files by the real reader and scored against their references.
@Suite("Speakers from channels")
struct ChannelDiarizationTests {
    static func scored(_ name: String, options: DiarizationOptions) async throws -> (turns: [SpeakerTurn], score: DiarizationScore) {
        let reference = try Fixtures.rttmTurns("studio/\(name).rttm")
        let turns = try await diarize(Fixtures.path("studio/\(name).wav"), options: options)
        let score = diarizationErrorRate(reference: reference, hypothesis: turns)
        DiarizationTests.log("diarize(studio/\(name).wav, \(options)): \(DiarizationTests.speakers(turns).count) speakers, \(score)")
        return (turns, score)
    }

    @Test(
        "Each channel is one speaker: DER ≤ 2% with bleed, overlaps and uneven gains; channel N is Speaker N",
        arguments: [("duo-2ch", ["rms", "slt"]), ("duo-2ch-gain8", ["rms", "slt"]), ("quad-4ch", ["slt", "rms", "awb", "kal"])])
    func channelsAreSpeakers(name: String, voices: [String]) async throws {
        let (turns, score) = try await Self.scored(name, options: DiarizationOptions(speakerPerChannel: true))
        #expect(score.errorRate <= 0.02, "\(name): \(score)")
        #expect(DiarizationTests.speakers(turns) == Set((1...voices.count).map { "Speaker \($0)" }), "\(name): \(score)")
        // The voice on channel N (fixtures put speakers on channels in order of first
        // appearance) is the one labelled Speaker N.
        for (index, voice) in voices.enumerated() {
            #expect(score.mapping["Speaker \(index + 1)"] == voice, "\(name): \(score)")
        }
        #expect(turns.allSatisfy { $0.end > $0.start })
        #expect(zip(turns, turns.dropFirst()).allSatisfy { $0.start <= $1.start }, "turns in time order")
    }

    @Test("Overlapping speech is both channels' speech: backchannels are kept")
    func overlapsKept() async throws {
        let reference = try Fixtures.rttmTurns("studio/duo-2ch.rttm")
        let (turns, _) = try await Self.scored("duo-2ch", options: DiarizationOptions(speakerPerChannel: true))
        // A backchannel ("Yes.", "Oh, I see.") said inside the other speaker's turn: both
        // speakers have a turn at its middle. (Where one turn starts 0.5 s before the other
        // ends, the overlap is mostly the synthesiser's trailing silence, so not checked.)
        var overlaps = 0
        for a in reference {
            for b in reference where b.speaker != a.speaker && b.start > a.start && b.end < a.end {
                let middle = (b.start + b.end) / 2
                let speaking = Set(turns.filter { $0.start <= middle && middle < $0.end }.map(\.speaker))
                #expect(speaking.count == 2, "at \(middle) s: \(speaking)")
                overlaps += 1
            }
        }
        #expect(overlaps == 2, "the fixture has two backchannels")
    }

    @Test("Channels are named in channel order; unnamed channels keep their numbers")
    func names() async throws {
        let (named, score) = try await Self.scored(
            "duo-2ch", options: DiarizationOptions(speakerPerChannel: true, channelNames: ["Host", "Guest"]))
        #expect(score.mapping == ["Host": "rms", "Guest": "slt"], "\(score)")
        let (partly, partScore) = try await Self.scored(
            "quad-4ch", options: DiarizationOptions(speakerPerChannel: true, channelNames: ["Anna"]))
        #expect(DiarizationTests.speakers(partly) == ["Anna", "Speaker 2", "Speaker 3", "Speaker 4"], "\(partScore)")
        #expect(Set(named.map(\.speaker)) == ["Host", "Guest"])
    }

    @Test("Dual mono is one channel: speakers are found by voice, as without the option")
    func dualMono() async throws {
        let source = try await ChunkSource.open(
            path: Fixtures.path("studio/dual-mono.wav"),
            configuration: PipelineConfiguration(diarization: DiarizationOptions(speakerPerChannel: true)))
        while try await source.next() != nil {}
        let levels = try #require(source.stream.channelLevels)
        #expect(levels.isDualMono == true)
        #expect(try #require(levels.differenceDecibels) < ChannelLevels.dualMonoRatio)
        source.close()

        let (byChannel, score) = try await Self.scored("dual-mono", options: DiarizationOptions(speakerPerChannel: true))
        let byVoice = try await diarize(Fixtures.path("studio/dual-mono.wav"))
        #expect(byChannel == byVoice)
        #expect(DiarizationTests.speakers(byChannel).count == 2, "\(score)")

        // A real two-channel session is not dual mono.
        let session = try await ChunkSource.open(
            path: Fixtures.path("studio/duo-2ch.wav"),
            configuration: PipelineConfiguration(diarization: DiarizationOptions(speakerPerChannel: true)))
        while try await session.next() != nil {}
        #expect(session.stream.channelLevels?.isDualMono == false)
        #expect(try #require(session.stream.channelLevels?.differenceDecibels) > -10)
        session.close()
    }

    @Test("Through FFmpeg too: a session in AAC (M4A) keeps its channels; a dual-mono AAC track is found out")
    func throughFFmpeg() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func aac(_ name: String) throws -> String {
            let out = dir.appendingPathComponent("\(name).m4a").path
            let made = try runProcess(
                "/usr/bin/ffmpeg",
                ["-nostdin", "-loglevel", "error", "-i", Fixtures.path("studio/\(name).wav"), "-c:a", "aac", "-b:a", "128k", out])
            #expect(made.status == 0, "\(made.stderr)")
            return out
        }
        for (name, count) in [("duo-2ch", 2), ("quad-4ch", 4)] {
            let path = try aac(name)
            let turns = try await diarize(path, options: DiarizationOptions(speakerPerChannel: true))
            let score = diarizationErrorRate(reference: try Fixtures.rttmTurns("studio/\(name).rttm"), hypothesis: turns)
            #expect(score.errorRate <= 0.02, "\(name).m4a: \(score)")
            #expect(DiarizationTests.speakers(turns).count == count, "\(name).m4a: \(score)")
        }
        let source = try await ChunkSource.open(
            path: try aac("dual-mono"), configuration: PipelineConfiguration(diarization: DiarizationOptions(speakerPerChannel: true)))
        #expect(source.child != nil, "read through FFmpeg")
        while try await source.next() != nil {}
        #expect(source.stream.channelLevels?.isDualMono == true, "\(String(describing: source.stream.channelLevels?.differenceDecibels))")
        source.close()
    }

    @Test("Levels: one byte per channel per 10 ms, in half decibels; dual mono decided on the first 30 s")
    func levels() {
        let rate = 48_000
        let seconds = 31.0
        let frames = Int(seconds * Double(rate))
        // Channel 1: a sine at -20 dBFS RMS (0.1414 peak); channel 2: the same 0.3 dB down.
        let amplitude = Float(0.1 * 2.0.squareRoot())
        var stereo = [Float](repeating: 0, count: frames * 2)
        for i in 0..<frames {
            let x = amplitude * Float(sin(2 * Double.pi * 440 * Double(i) / Double(rate)))
            stereo[2 * i] = x
            stereo[2 * i + 1] = x * 0.966
        }
        let levels = ChannelLevels(channels: 2, inputRate: rate, expectedSeconds: seconds)
        stereo.withUnsafeBufferPointer { buffer in
            // In uneven blocks, as the reader hands them on.
            var at = 0
            for block in [1_000, 8_192, 77, 100_000] where at < frames {
                let count = min(block, frames - at)
                levels.measure(UnsafeBufferPointer(rebasing: buffer[(2 * at)..<(2 * (at + count))]), frames: count)
                at += count
            }
            while at < frames {
                let count = min(8_192, frames - at)
                levels.measure(UnsafeBufferPointer(rebasing: buffer[(2 * at)..<(2 * (at + count))]), frames: count)
                at += count
            }
        }
        #expect(levels.isDualMono == true, "decided after 30 s, before the end")
        levels.finish()
        #expect(levels.frameCount == 3_100)
        let bytes = levels.take()
        #expect(bytes.count == 6_200)
        let first = ChannelLevels.decibels(ofLevel: bytes[200])
        let second = ChannelLevels.decibels(ofLevel: bytes[201])
        #expect(abs(first - -20) <= 0.5, "\(first)")
        #expect(abs(second - -20.3) <= 0.5, "\(second)")
        #expect(levels.take().isEmpty, "taken once")

        // Different signals on the two channels are not dual mono; four channels never are.
        let other = ChannelLevels(channels: 2, inputRate: 8_000)
        var different = [Float](repeating: 0, count: 32_000)
        for i in 0..<16_000 {
            let t = Double(i)
            different[2 * i] = Float(sin(t / 7) * 0.1)
            different[2 * i + 1] = Float(cos(t / 3) * 0.1)
        }
        different.withUnsafeBufferPointer { other.measure($0, frames: 16_000) }
        #expect(other.isDualMono == nil, "undecided before 30 s")
        other.finish()
        #expect(other.isDualMono == false)
        #expect(ChannelLevels(channels: 4, inputRate: 16_000).areDistinct)
        #expect(ChannelLevels.reservedBytes(forSeconds: 3_600, channels: 4) == 1_440_000 + 4 * 4 * 512 + 65_536)
    }

    @Test("Bleed is not speech: a voice 20 dB down on the other channel gives that channel no turn")
    func bleedRejected() {
        // Two channels, 4 s at 100 frames a second: channel 1 speaks at -20 dBFS for the first
        // 2 s and is heard on channel 2 at -40; then channel 2 speaks at -26 (a quieter
        // microphone) with channel 1 at -46; a 250 ms pause in every second, in a -70 dBFS
        // room. Both channels are over their own thresholds throughout the speech: only the
        // comparison between them tells the bleed.
        func level(_ db: Double) -> UInt8 { ChannelLevels.level(ofMeanSquare: pow(10, db / 10)) }
        var bytes: [UInt8] = []
        for f in 0..<400 {
            let first = f < 200 ? (-20.0, -40.0) : (-46.0, -26.0)
            let quiet = (f % 100) >= 75
            bytes += quiet ? [level(-70), level(-70)] : [level(first.0), level(first.1)]
        }
        let turns = ChannelDiarizer.turns(levels: bytes, channels: 2, names: ["A", "B"], fileOffset: 10)
        #expect(turns.map(\.speaker) == ["A", "B"], "\(turns)")
        #expect(turns.allSatisfy { $0.start >= 10 && $0.end <= 14 })
        #expect(turns.filter { $0.speaker == "A" }.allSatisfy { $0.end <= 12.05 })
        #expect(turns.filter { $0.speaker == "B" }.allSatisfy { $0.start >= 11.95 })
    }

    @Test("Close microphones: bleed 8 dB down is measured and rejected, and overlapping speech is still both")
    func closeBleed() {
        // 6 s: A alone (-20 dBFS, heard on B at -28), B alone (the same the other way), then
        // both at once (each channel its own voice and the other's bleed: -19.4), each part
        // 2 s with a 250 ms pause a second. A fixed margin of 10 dB took the bleed for speech.
        func level(_ db: Double) -> UInt8 { ChannelLevels.level(ofMeanSquare: pow(10, db / 10)) }
        var bytes: [UInt8] = []
        for f in 0..<600 {
            let pair = f < 200 ? (-20.0, -28.0) : f < 400 ? (-28.0, -20.0) : (-19.4, -19.4)
            bytes += (f % 100) >= 75 ? [level(-70), level(-70)] : [level(pair.0), level(pair.1)]
        }
        let turns = ChannelDiarizer.turns(levels: bytes, channels: 2, names: ["A", "B"])
        func speaking(at t: Double) -> Set<String> { Set(turns.filter { $0.start <= t && t < $0.end }.map(\.speaker)) }
        #expect(speaking(at: 0.5) == ["A"], "\(turns)")
        #expect(speaking(at: 1.5) == ["A"], "\(turns)")
        #expect(speaking(at: 2.5) == ["B"], "\(turns)")
        #expect(speaking(at: 3.5) == ["B"], "\(turns)")
        #expect(speaking(at: 4.5) == ["A", "B"], "\(turns)")
        #expect(speaking(at: 5.5) == ["A", "B"], "\(turns)")
    }
}
