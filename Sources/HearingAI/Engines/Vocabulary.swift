import CFlite
import Foundation
import Synchronization

/// Terms an engine should expect: names, products, jargon (`--vocabulary FILE`).
///
/// The file has one term per line, optionally followed by `|` and its pronunciation in the
/// ARPAbet phones of the CMU dictionary (`Kubernetes | K UW B ER N EH T IY Z`); blank lines and
/// lines starting with `#` are skipped. A term may be several words; a pronunciation belongs to
/// a one-word term. PocketSphinx adds the words its dictionary lacks, with the pronunciation
/// given or else one from Flite's CMU lexicon and letter-to-sound rules (``LetterToSound``), to
/// its dictionary and its language model as unigrams. A Whisper-class engine gets the terms in
/// its prompt (``promptText``).
public struct Vocabulary: Sendable, Hashable, Codable {
    /// One line of the file.
    public struct Term: Sendable, Hashable, Codable {
        /// The term as written.
        public var text: String
        /// Its pronunciation (ARPAbet phones separated by spaces, no stress marks), if given.
        public var pronunciation: String?

        /// A term.
        public init(text: String, pronunciation: String? = nil) {
            self.text = text
            self.pronunciation = pronunciation
        }
    }

    /// The terms, in the file's order.
    public var terms: [Term]

    /// A vocabulary of `terms`.
    public init(terms: [Term]) {
        self.terms = terms
    }

    /// The phones of the US English acoustic model (the CMU dictionary's, without stress).
    public static let phones: Set<String> = [
        "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY", "JH", "K", "L",
        "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH",
    ]
    /// At most this many terms: a vocabulary is a list of names, not a dictionary.
    public static let maxTerms = 1_000
    /// The prompt's glossary stops before this many characters (Whisper reads about 224
    /// tokens of prompt).
    public static let maxPromptCharacters = 600

    /// Reads and checks `path`. Every problem is one line naming the file and the line.
    public static func load(path: String) throws -> Vocabulary {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw HearingAIError(.invalidOptions, path: path, reason: "vocabulary: cannot read it as UTF-8 text")
        }
        var terms: [Term] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            func refuse(_ reason: String) -> HearingAIError {
                HearingAIError(.invalidOptions, path: path, reason: "vocabulary line \(number + 1): \(reason)")
            }
            let parts = line.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            let term = parts[0]
            guard !term.isEmpty else { throw refuse("no term before '|'") }
            guard term.contains(where: \.isLetter) else { throw refuse("'\(term)' has no letters") }
            var pronunciation: String?
            if parts.count == 2 {
                guard Self.words(of: term).count == 1 else { throw refuse("a pronunciation belongs to one word, not '\(term)'") }
                let phones = parts[1].uppercased().split(separator: " ").map { String($0.filter { !$0.isNumber }) }
                guard !phones.isEmpty else { throw refuse("no phones after '|'") }
                if let unknown = phones.first(where: { !Self.phones.contains($0) }) {
                    throw refuse("'\(unknown)' is not a phone of the model (ARPAbet: \(Self.phones.sorted().joined(separator: " ")))")
                }
                pronunciation = phones.joined(separator: " ")
            }
            terms.append(Term(text: term, pronunciation: pronunciation))
            guard terms.count <= maxTerms else { throw refuse("more than \(maxTerms) terms") }
        }
        guard !terms.isEmpty else { throw HearingAIError(.invalidOptions, path: path, reason: "vocabulary: no terms in it") }
        return Vocabulary(terms: terms)
    }

    /// The words of `term` as a dictionary spells them: lower case, letters, digits and
    /// apostrophes.
    static func words(of term: String) -> [String] {
        term.lowercased().split { !($0.isLetter || $0.isNumber || $0 == "'") }.map(String.init)
    }

    /// Every word of every term once, in order, with its pronunciation when the file gives one.
    public var words: [(word: String, pronunciation: String?)] {
        var seen: Set<String> = []
        var out: [(String, String?)] = []
        for term in terms {
            for word in Self.words(of: term.text) where seen.insert(word).inserted {
                out.append((word, term.pronunciation))
            }
        }
        return out
    }

    /// The terms as a prompt for a Whisper-class engine, after the user's own prompt when there
    /// is one: "Glossary: A, B, C." Terms that would take it past ``maxPromptCharacters`` are
    /// left out.
    public func promptText(after prompt: String? = nil) -> String {
        var glossary = "Glossary:"
        for (i, term) in terms.enumerated() {
            let piece = (i == 0 ? " " : ", ") + term.text
            if glossary.count + piece.count + 1 > Self.maxPromptCharacters { break }
            glossary += piece
        }
        glossary += "."
        guard let prompt, !prompt.isEmpty else { return glossary }
        return prompt + " " + glossary
    }
}

/// Pronunciations from Flite's CMU lexicon (its copy of the CMU dictionary, then its
/// letter-to-sound rules for words not in it), in the acoustic model's phones.
public enum LetterToSound {
    /// Flite's lexicon, loaded once. Flite's lexicon calls are not thread-safe: one at a time.
    private final class Lexicon: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<cst_lexicon>?
        init() { pointer = cmulex_init() }
    }
    private static let lexicon = Mutex<Lexicon?>(nil)

    /// The pronunciation of `word` (ARPAbet, no stress), or nil when Flite gives none.
    public static func pronunciation(of word: String) -> String? {
        lexicon.withLock { lexicon -> String? in
            if lexicon == nil { lexicon = Lexicon() }
            guard let lex = lexicon?.pointer else { return nil }
            guard let list = lex_lookup(lex, word.lowercased(), nil, nil) else { return nil }
            defer { delete_val(list) }
            var phones: [String] = []
            var cell: UnsafePointer<cst_val>? = UnsafePointer(list)
            while let current = cell, let head = val_car(current) {
                if let text = val_string(head) {
                    let phone = String(cString: text).uppercased().filter { !$0.isNumber }
                    // Flite's schwa is the dictionary's unstressed AH.
                    let mapped = phone == "AX" ? "AH" : phone
                    if Vocabulary.phones.contains(mapped) { phones.append(mapped) }
                }
                cell = val_cdr(current)
            }
            return phones.isEmpty ? nil : phones.joined(separator: " ")
        }
    }
}
