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

/// The words of `text`, lower-cased, without punctuation.
public func normalizedWords(_ text: String) -> [String] {
    text.lowercased()
        .split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "'" })
        .map(String.init)
}

