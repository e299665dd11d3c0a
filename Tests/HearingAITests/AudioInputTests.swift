import Foundation
import TestSupport
import Testing

@testable import HearingAI

@Suite("Audio input", .timeLimit(.minutes(5)))
struct AudioInputTests {
    /// Reads a whole file through the stream, returning the 16 kHz sample count.
    static func streamedSamples(_ path: String) throws -> (Int, AudioFormatInfo) {
        let stream = try AudioStream(path: path)
        var block: [Int16] = []
        var total = 0
        while try stream.read(into: &block) { total += block.count }
        return (total, stream.info)
    }

    @Test(
        "Every container and encoding decodes to 16 kHz mono of the right length",
        arguments: [
            "pcm16.wav", "pcm24.wav", "pcm32.wav", "float32.wav", "rf64.wav", "bwf.wav",
            "aiff.aiff", "flac.flac", "vorbis.ogg", "opus.opus", "mp3.mp3", "multi6_96k.wav",
        ])
    func formats(name: String) throws {
        let path = Fixtures.path("formats/\(name)")
        let (samples, info) = try Self.streamedSamples(path)
        let expected = info.duration * 16_000
        // Codecs pad or trim a few milliseconds (MP3 encoder delay, Opus pre-skip).
        #expect(abs(Double(samples) - expected) < 16_000 * 0.1, "\(name): \(samples) samples, expected about \(expected)")
        #expect(samples > 16_000 * 5)
    }

    @Test("The studio case: 48 kHz 24-bit stereo transcribes like its 16 kHz source", .timeLimit(.minutes(3)))
    func studioFile() async throws {
        let reference = try Fixtures.text("formats/source.txt")
        let transcript = try await transcribe(Fixtures.path("formats/pcm24.wav"), configuration: PipelineConfiguration(maxWorkers: 1))
        #expect(transcript.metadata.inputSampleRate == 48_000)
        #expect(transcript.metadata.inputChannels == 2)
        #expect(transcript.metadata.inputFormat.contains("24 bit"))
        let wer = wordErrorRate(reference: reference, hypothesis: transcript.text)
        #expect(wer < 0.2, "WER \(wer): \(transcript.text)")
    }

    @Test(
        "Bad input fails with a one-line reason naming the file",
        arguments: [
            ("bad/empty.wav", HearingAIError.Code.notAudio, "empty"),
            ("bad/notaudio.wav", .notAudio, "not a recognised audio format"),
            ("bad/random.bin", .notAudio, "not a recognised audio format"),
            ("bad/truncated.wav", .truncatedAudio, "truncated"),
            ("bad/lying.wav", .truncatedAudio, "declares"),
            ("bad/hugechannels.wav", .notAudio, "channels"),
        ])
    func badInput(relative: String, code: HearingAIError.Code, fragment: String) throws {
        let path = Fixtures.path(relative)
        do {
            _ = try Self.streamedSamples(path)
            Issue.record("\(relative) was accepted")
        } catch let error as HearingAIError {
            // libsndfile refuses some headers outright; others we refuse after it opens them.
            if relative != "bad/hugechannels.wav" { #expect(error.code == code, "\(error)") }
            #expect(error.description.hasPrefix(path + ": "))
            #expect(error.description.contains(fragment), "\(error)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("Unreadable paths: missing, a directory, no permission")
    func unreadable() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: HearingAIError(.fileUnreadable, path: dir.path + "/missing.wav", reason: "cannot open: No such file or directory"))
        {
            _ = try AudioFile(path: dir.path + "/missing.wav")
        }
        #expect(throws: HearingAIError(.fileUnreadable, path: dir.path, reason: "is a directory")) {
            _ = try AudioFile(path: dir.path)
        }
    }

    @Test("start and end times select a range and keep the file's clock", .timeLimit(.minutes(3)))
    func range() async throws {
        let path = Fixtures.path("speech/conversation.wav")
        let options = PipelineConfiguration(maxWorkers: 1, startTime: 10, endTime: 25)
        let transcript = try await transcribe(path, configuration: options)
        #expect(abs(transcript.metadata.duration - 15) < 0.05)
        let words = transcript.words
        #expect(!words.isEmpty)
        #expect(words.allSatisfy { $0.start >= 10 && $0.end <= 25.1 })
    }
}
