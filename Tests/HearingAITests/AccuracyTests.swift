import Foundation
import TestSupport
import Testing

@testable import HearingAI

/// Real PocketSphinx on flite speech with known text.
@Suite("Accuracy", .timeLimit(.minutes(10)))
struct AccuracyTests {
    /// `pocketsphinx_continuous` on the same files scores about this (docs/benchmarks.md);
    /// the pipeline must stay near it.
    static let referenceTolerance = 0.15

    @Test("A short sentence is transcribed with its words in order and file-clock times")
    func shortSentence() async throws {
        let reference = try Fixtures.text("speech/short.txt")
        let transcript = try await transcribe(Fixtures.path("speech/short.wav"), configuration: PipelineConfiguration(maxWorkers: 1))
        let wer = wordErrorRate(reference: reference, hypothesis: transcript.text)
        #expect(wer <= Self.referenceTolerance, "WER \(wer): \(transcript.text)")
        let words = transcript.words
        #expect(zip(words, words.dropFirst()).allSatisfy { $0.start <= $1.start })
        #expect(words.allSatisfy { $0.end > $0.start && (0...1).contains($0.confidence) })
        #expect(transcript.metadata.engine == "pocketsphinx")
    }

    /// Debian's raw engine, when installed (the test packages install it).
    static let rawEngine = ["/usr/bin/pocketsphinx_continuous"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The words `pocketsphinx_continuous -infile PATH` prints.
    static func rawWords(_ path: String) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(rawEngine))
        process.arguments = ["-infile", path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace).map(String.init)
    }

    @Test(
        "Unchunked, the embedded engine gives the raw engine's words exactly: flite voices, real speech, noise, reverb",
        .enabled(if: rawEngine != nil, "pocketsphinx_continuous is not installed"),
        arguments: rawEngineFixtures
    )
    func unchunkedEqualsRawEngine(_ name: String) async throws {
        let path = Fixtures.path(name + ".wav")
        let ours = try await transcribe(
            path, configuration: PipelineConfiguration(chunking: ChunkPlan(chunkSize: 600, overlap: 0), maxWorkers: 1))
        #expect(ours.metadata.chunking.chunks == 1)
        let raw = try Self.rawWords(path)
        #expect(!raw.isEmpty)
        // The same words; ours are sentence-cased.
        #expect(ours.words.map { $0.text.lowercased() } == raw, "\(name)\nours: \(ours.text)\nraw:  \(raw.joined(separator: " "))")
    }

    /// Fixtures on several texts and voices, with their reference text.
    static let rawEngineFixtures = [
        "speech/short", "speech/conversation", "speech/conversation3", "real/read-passage", "real/phone-call", "hard/duo-noise20",
        "hard/duo-reverb",
    ]

    @Test(
        "Chunked (10 s chunks, 1 s overlap, two workers), the embedded engine is within one point of the raw engine's WER",
        .enabled(if: rawEngine != nil, "pocketsphinx_continuous is not installed")
    )
    func chunkedNearRawEngine() async throws {
        var errors = (raw: 0.0, chunked: 0.0)
        var referenceWords = 0
        for name in Self.rawEngineFixtures {
            let path = Fixtures.path(name + ".wav")
            let reference = try Fixtures.text(name + ".txt")
            let chunked = try await transcribe(
                path, configuration: PipelineConfiguration(chunking: ChunkPlan(chunkSize: 10, overlap: 1), maxWorkers: 2))
            let rawWER = wordErrorRate(reference: reference, hypothesis: try Self.rawWords(path).joined(separator: " "))
            let chunkedWER = wordErrorRate(reference: reference, hypothesis: chunked.text)
            let words = normalizedWords(reference).count
            // One point, or one word where a file is too short to tell a point.
            #expect(
                chunkedWER <= rawWER + max(0.01, 1 / Double(words)) + 1e-9,
                "\(name): chunked WER \(chunkedWER), raw engine \(rawWER)\nours: \(chunked.text)")
            errors.raw += rawWER * Double(words)
            errors.chunked += chunkedWER * Double(words)
            referenceWords += words
        }
        // Over all of them, one point.
        #expect(errors.chunked / Double(referenceWords) <= errors.raw / Double(referenceWords) + 0.01, "\(errors)")
    }

    @Test("Chunking costs no accuracy: no lost or doubled words at boundaries")
    func chunkedMatchesUnchunked() async throws {
        let path = Fixtures.path("speech/conversation.wav")
        let reference = try Fixtures.text("speech/conversation.txt")
        let whole = try await transcribe(
            path, configuration: PipelineConfiguration(chunking: ChunkPlan(chunkSize: 600, overlap: 0), maxWorkers: 1))
        #expect(whole.metadata.chunking.chunks == 1)
        let chunked = try await transcribe(
            path, configuration: PipelineConfiguration(chunking: ChunkPlan(chunkSize: 8, overlap: 1), maxWorkers: 2))
        #expect(chunked.metadata.chunking.chunks >= 6)

        let wholeWER = wordErrorRate(reference: reference, hypothesis: whole.text)
        let chunkedWER = wordErrorRate(reference: reference, hypothesis: chunked.text)
        #expect(wholeWER <= Self.referenceTolerance, "unchunked WER \(wholeWER)")
        #expect(chunkedWER <= wholeWER + 0.02, "chunked WER \(chunkedWER) vs unchunked \(wholeWER)\n\(chunked.text)\n\(whole.text)")

        // No word twice: no two words overlap in time.
        let words = chunked.words
        for (a, b) in zip(words, words.dropFirst()) {
            #expect(b.start >= a.end - 0.05, "overlapping words \(a) \(b)")
        }
        #expect(abs(words.count - whole.words.count) <= 2, "\(words.count) words chunked, \(whole.words.count) whole")
    }

    @Test("One worker and two give the same transcript: chunks do not depend on scheduling")
    func deterministicAcrossWorkers() async throws {
        let path = Fixtures.path("speech/conversation.wav")
        let plan = ChunkPlan(chunkSize: 10, overlap: 1)
        let one = try await transcribe(path, configuration: PipelineConfiguration(chunking: plan, maxWorkers: 1))
        let two = try await transcribe(path, configuration: PipelineConfiguration(chunking: plan, maxWorkers: 2))
        #expect(one.words.map(\.text) == two.words.map(\.text))
        #expect(one.words.map(\.start) == two.words.map(\.start))
    }

    @Test("Words come back in time order however the chunks finish", .timeLimit(.minutes(5)))
    func timeOrderAcrossWorkers() async throws {
        let path = Fixtures.path("speech/conversation3.wav")
        let reference = try Fixtures.text("speech/conversation3.txt")
        let transcript = try await transcribe(
            path, configuration: PipelineConfiguration(chunking: ChunkPlan(chunkSize: 6, overlap: 0.5), maxWorkers: 3))
        let starts = transcript.words.map(\.start)
        #expect(starts == starts.sorted())
        #expect(wordErrorRate(reference: reference, hypothesis: transcript.text) <= Self.referenceTolerance + 0.02)
    }
}
