import Foundation
import TestSupport
import Testing

/// The Swift tests and the benchmark scripts score transcripts by one normalisation rule:
/// `scripts/wer.py`'s `words()` is the reference, and both it and ``normalizedWords(_:)`` must
/// give each case's words in `Tests/TestSupport/wer-normalisation-cases.json`.
@Suite("Word error rate: one normalisation rule for the tests and scripts/wer.py", .timeLimit(.minutes(1)))
struct WordErrorRateTests {
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var text: String
        var words: [String]
        var testDescription: String { name }
    }

    static let casesURL = TestPaths.packageRoot.appendingPathComponent("Tests/TestSupport/wer-normalisation-cases.json")

    static func cases() throws -> [Case] {
        try JSONDecoder().decode([Case].self, from: Data(contentsOf: casesURL))
    }

    @Test("The case list is there and not empty")
    func caseListLoads() throws {
        #expect(try Self.cases().count >= 12)
    }

    @Test("normalizedWords gives each case's words", arguments: try cases())
    func swiftRule(_ example: Case) {
        #expect(normalizedWords(example.text) == example.words)
    }

    @Test("wer.py --words gives each case's words, from a file and from standard input", arguments: try cases())
    func pythonRule(_ example: Case) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("text.txt")
        try Data(example.text.utf8).write(to: file)
        let script = TestPaths.packageRoot.appendingPathComponent("scripts/wer.py").path

        let fromFile = try runProcess("/usr/bin/env", ["python3", script, "--words", file.path])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(Self.lines(fromFile.stdout) == example.words)

        let fromStdin = try runProcess("/usr/bin/env", ["python3", script, "--words"], input: file)
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        #expect(Self.lines(fromStdin.stdout) == example.words)
    }

    @Test("wer.py still scores two files")
    func pythonScore() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let reference = dir.appendingPathComponent("ref.txt")
        let hypothesis = dir.appendingPathComponent("hyp.txt")
        try Data("Speaker 1: The cat sat.\n".utf8).write(to: reference)
        try Data("the <sil> cat(2) sat on\n".utf8).write(to: hypothesis)
        let script = TestPaths.packageRoot.appendingPathComponent("scripts/wer.py").path
        let result = try runProcess("/usr/bin/env", ["python3", script, reference.path, hypothesis.path, "-v"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "0.3333\n")
        #expect(result.stderr == "ref_words=3 hyp_words=4 sub=0 del=0 ins=1\n")
        #expect(wordErrorRate(reference: "Speaker 1: The cat sat.\n", hypothesis: "the <sil> cat(2) sat on\n") == 1.0 / 3)
    }

    /// `wer.py --words` output as a list: one word a line.
    static func lines(_ output: String) -> [String] {
        output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
}
