import Foundation
import TestSupport
import Testing

@testable import HearingAI

/// Issue 14, custom vocabulary: the file, the pronunciations Flite makes, and PocketSphinx
/// hearing names its dictionary lacks (fixtures/vocab: seven sentences of jargon in two flite
/// voices), on the real engine.
@Suite("Custom vocabulary", .timeLimit(.minutes(10)))
struct VocabularyTests {
    static func file(_ text: String) throws -> String {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("terms.txt").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("The file: terms, pronunciations, comments; every mistake one line naming the file and the line")
    func file() throws {
        let path = try Self.file(
            """
            # names
            Kubernetes
            Zorblatt | z ao1 r b l ah0 t

            Hacker News
            """)
        let vocabulary = try Vocabulary.load(path: path)
        #expect(
            vocabulary.terms == [
                .init(text: "Kubernetes"), .init(text: "Zorblatt", pronunciation: "Z AO R B L AH T"), .init(text: "Hacker News"),
            ])
        #expect(vocabulary.words.map(\.word) == ["kubernetes", "zorblatt", "hacker", "news"])

        for (text, reason) in [
            ("Kubernetes\nFoo | Q AA", "vocabulary line 2: 'Q' is not a phone"),
            ("Hacker News | HH AE K ER", "vocabulary line 1: a pronunciation belongs to one word"),
            ("# nothing\n\n", "vocabulary: no terms in it"),
            ("42", "vocabulary line 1: '42' has no letters"),
            ("Zorblatt |", "vocabulary line 1: no phones after '|'"),
        ] {
            let bad = try Self.file(text)
            do {
                _ = try Vocabulary.load(path: bad)
                Issue.record("\(text) was accepted")
            } catch let error as HearingAIError {
                #expect(error.code == .invalidOptions)
                #expect(error.path == bad)
                #expect(error.reason.hasPrefix(reason), "\(error.reason)")
                #expect(!error.description.contains("\n"))
            }
        }
        #expect(throws: HearingAIError.self) { try Vocabulary.load(path: "/nonexistent/terms.txt") }
    }

    @Test("Flite's lexicon and letter-to-sound rules give the model's phones")
    func letterToSound() throws {
        #expect(LetterToSound.pronunciation(of: "hello") == "HH AH L OW")
        for word in ["zorblatt", "kubernetes", "okonkwo", "tailscale"] {
            let phones = try #require(LetterToSound.pronunciation(of: word), "\(word)")
            #expect(phones.split(separator: " ").allSatisfy { Vocabulary.phones.contains(String($0)) }, "\(word): \(phones)")
        }
    }

    @Test("A Whisper prompt: the glossary after the user's prompt, bounded")
    func prompt() {
        let vocabulary = Vocabulary(terms: [.init(text: "Kubernetes"), .init(text: "Dr. Okonkwo")])
        #expect(vocabulary.promptText() == "Glossary: Kubernetes, Dr. Okonkwo.")
        #expect(vocabulary.promptText(after: "A meeting.") == "A meeting. Glossary: Kubernetes, Dr. Okonkwo.")
        let many = Vocabulary(terms: (0..<1_000).map { .init(text: "Term\($0)") })
        let text = many.promptText()
        #expect(text.count <= Vocabulary.maxPromptCharacters)
        #expect(text.hasSuffix(".") && text.hasPrefix("Glossary: Term0, Term1"))
    }

    @Test("Configuration: the key reads the file; its terms, not its path, are in the fingerprint")
    func configuration() throws {
        let path = try Self.file("Zorblatt\n")
        var with = PipelineConfiguration()
        with.engine.vocabulary = try Vocabulary.load(path: path)
        #expect(with.fingerprint != PipelineConfiguration().fingerprint)
        let encoded = String(decoding: try JSONEncoder().encode(PipelineConfiguration()), as: UTF8.self)
        #expect(!encoded.contains("vocabulary"), "no vocabulary, no change to existing fingerprints")
        // Unpronounceable words are refused when the engine is made, not at the first file.
        var unpronounceable = PipelineConfiguration()
        unpronounceable.engine.vocabulary = Vocabulary(terms: [.init(text: "ßßß")])
        #expect(throws: HearingAIError.self) { try EngineRegistry.embedded.makeEngine(unpronounceable.engine) }
    }

    /// Words of `terms` (lower case) heard in `text`.
    static func heard(_ terms: [String], in text: String) -> [String] {
        let words = Set(text.lowercased().split { !($0.isLetter || $0 == "'") }.map(String.init))
        return terms.filter { words.contains($0) }
    }

    @Test("PocketSphinx hears the names it lacked: terms found and WER, without and with the vocabulary", arguments: ["slt", "awb"])
    func recognised(voice: String) async throws {
        let path = Fixtures.path("vocab/jargon-\(voice).wav")
        let reference = try Fixtures.text("vocab/jargon.txt")
        let vocabulary = try Vocabulary.load(path: Fixtures.path("vocab/jargon.vocabulary"))
        let terms = vocabulary.words.map(\.word)
        var plain = PipelineConfiguration(maxWorkers: 1, diarization: DiarizationOptions(enabled: false))
        let before = try await transcribe(path, configuration: plain).text
        plain.engine.vocabulary = vocabulary
        let after = try await transcribe(path, configuration: plain).text
        let werBefore = wordErrorRate(reference: reference, hypothesis: before)
        let werAfter = wordErrorRate(reference: reference, hypothesis: after)
        DiarizationTests.log("jargon-\(voice): WER \(werBefore) -> \(werAfter); heard \(Self.heard(terms, in: after))")
        #expect(Self.heard(terms, in: before).isEmpty, "the dictionary lacks every term: \(before)")
        #expect(Self.heard(terms, in: after).count >= 7, "\(after)")
        #expect(werAfter <= werBefore - 0.2, "WER \(werBefore) -> \(werAfter): \(after)")
    }
}
