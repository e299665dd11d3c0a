import Foundation
import TestSupport
import Testing

@testable import HearingAI

@Suite("Output formats")
struct OutputFormatTests {
    static let transcript: Transcript = {
        let words = [
            Word(text: "hello", start: 0.5, end: 0.9, confidence: 0.9),
            Word(text: "world", start: 1.0, end: 1.4, confidence: 0.8),
            Word(text: "second", start: 3.0, end: 3.5, confidence: 0.7),
            Word(text: "line", start: 3.6, end: 4.1, confidence: 0.6),
            Word(text: "much", start: 3700.25, end: 3700.5, confidence: 0.6),
        ]
        let metadata = TranscriptMetadata(
            source: "/tmp/x.wav", duration: 3701, startTime: 0, inputFormat: "WAV", inputSampleRate: 48_000, inputChannels: 2,
            engine: "pocketsphinx", model: "m",
            chunking: .init(chunkSize: 30, overlap: 1, boundaryWindow: 2, chunks: 3, maxWorkers: 2),
            timings: .init(total: 1, engineLoad: 0.1, speed: 3),
            memory: .init(limitMB: nil, limitSource: nil, peakRSSMB: 100, workersAllowed: 2))
        return Transcript(segments: Segmenter().segments(of: words), metadata: metadata)
    }()

    @Test("Segments break at long pauses; a lower-case engine's segments start with a capital")
    func segmenting() {
        #expect(Self.transcript.segments.map(\.text) == ["Hello world", "Second line", "Much"])
    }

    @Test("SRT: numbered cues whose times increase")
    func srt() throws {
        let text = try Self.transcript.rendered(as: .srt)
        let cues = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(cues.count == 3)
        var previousEnd = -1.0
        for (i, cue) in cues.enumerated() {
            let lines = cue.split(separator: "\n")
            #expect(lines[0] == "\(i + 1)")
            let times = lines[1].components(separatedBy: " --> ").map(Self.seconds)
            #expect(times.count == 2 && times[0] < times[1] && times[0] >= previousEnd)
            previousEnd = times[1]
        }
        // The last cue stays up the shortest time, a second.
        #expect(text.contains("01:01:40,250 --> 01:01:41,250"))
    }

    @Test("VTT: header and dotted times")
    func vtt() throws {
        let text = try Self.transcript.rendered(as: .vtt)
        #expect(text.hasPrefix("WEBVTT\n\n"))
        // Up a second, as a cue must be where the next leaves room.
        #expect(text.contains("00:00:00.500 --> 00:00:01.500\nHello world"))
    }

    @Test("JSON decodes into the documented shape")
    func json() throws {
        let text = try Self.transcript.rendered(as: .json)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let segments = try #require(object["segments"] as? [[String: Any]])
        #expect(segments.count == 3)
        let words = try #require(segments[0]["words"] as? [[String: Any]])
        #expect(words.first?["text"] as? String == "Hello")
        #expect(words.first?["confidence"] as? Double == 0.9)
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["engine"] as? String == "pocketsphinx")
        #expect((metadata["chunking"] as? [String: Any])?["chunkSize"] as? Double == 30)
        #expect(try JSONDecoder().decode(Transcript.self, from: Data(text.utf8)) == Self.transcript)
    }

    @Test("Text and Markdown carry speakers when known")
    func speakers() throws {
        var transcript = Self.transcript
        for i in transcript.segments.indices { transcript.segments[i].speaker = i == 1 ? "Speaker 2" : "Speaker 1" }
        #expect(try transcript.rendered(as: .txt).hasPrefix("Speaker 1: Hello world\n\nSpeaker 2: Second line"))
        #expect(try transcript.rendered(as: .md).contains("**[0:00:00]** **Speaker 1:** Hello world"))
        #expect(try transcript.rendered(as: .vtt).contains("<v Speaker 2>Second line"))
        #expect(try transcript.rendered(as: .srt).contains("Speaker 2: Second line"))
    }

    @Test("Format lists accept commas and repeats, and refuse unknown names")
    func formatList() throws {
        #expect(try TranscriptFormat.parseList(["txt,json", "srt", "JSON"]) == [.txt, .json, .srt])
        #expect(throws: HearingAIError.self) { try TranscriptFormat.parseList(["docx"]) }
    }

    @Test("save writes atomically and leaves no temporary file")
    func atomicSave() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("out.json")
        try Self.transcript.save(to: url, format: .json)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.json"])
        #expect(throws: HearingAIError.self) {
            try Self.transcript.save(to: dir.appendingPathComponent("missing/out.txt"), format: .txt)
        }
    }

    static func seconds(_ stamp: String) -> Double {
        let parts = stamp.replacingOccurrences(of: ",", with: ".").split(separator: ":")
        return Double(parts[0])! * 3600 + Double(parts[1])! * 60 + Double(parts[2])!
    }
}
