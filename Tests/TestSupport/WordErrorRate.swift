/// Word error rate of `hypothesis` against `reference`: word-level Levenshtein distance over
/// the reference length.
public func wordErrorRate(reference: String, hypothesis: String) -> Double {
    let ref = normalizedWords(reference)
    let hyp = normalizedWords(hypothesis)
    guard !ref.isEmpty else { return hyp.isEmpty ? 0 : 1 }
    var previous = Array(0...hyp.count)
    for i in 1...ref.count {
        var current = [i] + Array(repeating: 0, count: hyp.count)
        for j in stride(from: 1, through: hyp.count, by: 1) {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref[i - 1] == hyp[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return Double(previous[hyp.count]) / Double(ref.count)
}

/// The words of `text` by `scripts/wer.py`'s rule (its `words()`), which is the reference;
/// `wer.py --words` prints the same list, and `Tests/TestSupport/wer-normalisation-cases.json`
/// holds the cases both are tested on:
/// - line breaks as wer.py reads a file: CR LF and a lone CR are line breaks (universal newlines);
/// - "Speaker N: " at the start of a line is a label, not speech;
/// - the text splits at whitespace as Python's `str.split()` does;
/// - each token is lower-cased; a whole token that is a filler (`<sil>`, `[noise]`, `++um++`) is
///   dropped; an alternate-pronunciation marker at its end ("to(3)") is removed;
/// - what is not `a-z`, `0-9` or an apostrophe separates words (so non-ASCII letters and digits
///   are dropped), and apostrophes around a word are stripped.
///
/// It works on Unicode scalars, as Python works on code points.
public func normalizedWords(_ text: String) -> [String] {
    var words: [String] = []
    for token in WerText.tokens(WerText.withoutSpeakerLabels(WerText.universalNewlines(text.unicodeScalars))) {
        let lowered = Array(String(String.UnicodeScalarView(token)).lowercased().unicodeScalars)
        if WerText.isFiller(lowered) { continue }
        var word = String.UnicodeScalarView()
        func finishWord() {
            let stripped = word.drop { $0 == "'" }.reversed().drop { $0 == "'" }.reversed()
            if !stripped.isEmpty { words.append(String(String.UnicodeScalarView(stripped))) }
            word = String.UnicodeScalarView()
        }
        for scalar in WerText.withoutAlternatePronunciation(lowered) {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "'" {
                word.append(scalar)
            } else {
                finishWord()
            }
        }
        finishWord()
    }
    return words
}

/// The steps of wer.py's `words()`, each named after the Python it mirrors.
private enum WerText {
    /// Python's text-mode reading: `\r\n` and `\r` become `\n`.
    static func universalNewlines(_ text: String.UnicodeScalarView) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        var afterCR = false
        for scalar in text {
            if scalar == "\r" {
                out.append("\n")
                afterCR = true
                continue
            }
            if !(afterCR && scalar == "\n") { out.append(scalar) }
            afterCR = false
        }
        return out
    }

    /// `re.sub(r"(?m)^Speaker \d+: ", "", text)`.
    static func withoutSpeakerLabels(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let label = Array("Speaker ".unicodeScalars)
        var out: [Unicode.Scalar] = []
        var i = 0
        while i < text.count {
            if i == 0 || text[i - 1] == "\n", text[i...].starts(with: label) {
                var j = i + label.count
                while j < text.count, isDecimalDigit(text[j]) { j += 1 }
                if j > i + label.count, j + 1 < text.count, text[j] == ":", text[j + 1] == " " {
                    i = j + 2
                    continue
                }
            }
            out.append(text[i])
            i += 1
        }
        return out
    }

    /// `text.split()`: runs of what `str.isspace()` calls whitespace separate tokens. That is
    /// Unicode's White_Space plus the four information separators U+001C...U+001F.
    static func tokens(_ text: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        text.split { $0.properties.isWhitespace || (0x1C...0x1F).contains($0.value) }
    }

    /// `re.match(r"^(<[^>]*>|\[[^\]]*\]|\+\+.*\+\+)$", token)`.
    static func isFiller(_ token: [Unicode.Scalar]) -> Bool {
        guard token.count >= 2, let first = token.first, let last = token.last else { return false }
        let inner = token.dropFirst().dropLast()
        if first == "<", last == ">" { return !inner.contains(">") }
        if first == "[", last == "]" { return !inner.contains("]") }
        return token.count >= 4 && token.starts(with: ["+", "+"]) && token.suffix(2).elementsEqual(["+", "+"])
    }

    /// `re.sub(r"\(\d+\)$", "", token)`.
    static func withoutAlternatePronunciation(_ token: [Unicode.Scalar]) -> ArraySlice<Unicode.Scalar> {
        guard token.last == ")" else { return token[...] }
        var i = token.count - 2
        while i >= 0, isDecimalDigit(token[i]) { i -= 1 }
        guard i < token.count - 2, i >= 0, token[i] == "(" else { return token[...] }
        return token[..<i]
    }

    /// Python's `\d` on text: Unicode category Nd, which is Numeric_Type=Decimal.
    static func isDecimalDigit(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.numericType == .decimal
    }
}
