/// How SRT and WebVTT subtitles are laid out. The defaults are the usual broadcast rules: at
/// most 2 lines of at most 42 characters, each cue on screen for 1 to 7 seconds, read at no
/// more than 20 characters per second.
///
/// Lines break between words, never inside one, preferring a break after punctuation, then at
/// the longest pause, then before a word that starts a clause ("and", "how") and not after one
/// that leads into the next ("the", "of", "we"), then where the lines come out even. A cue holds one speaker's words: a
/// change of speaker (and a pause that ends a segment) starts a new cue.
public struct SubtitleStyle: Sendable, Hashable, Codable {
    /// The most characters on one line (`--max-line-chars`). A single word longer than this
    /// has a line of its own.
    public var maxLineCharacters: Int
    /// The most lines in one cue (`--max-lines`).
    public var maxLines: Int
    /// The shortest time a cue stays on screen, in seconds, when the next cue leaves room.
    public var minDuration: Double
    /// The longest time a cue stays on screen, in seconds.
    public var maxDuration: Double
    /// The fastest reading speed asked of a viewer, in characters per second: a cue stays up
    /// at least its characters divided by this, when the next cue leaves room.
    public var maxCharactersPerSecond: Double

    /// The broadcast defaults: 42 characters, 2 lines, 1–7 seconds, 20 characters per second.
    public static let broadcast = SubtitleStyle()

    /// A style.
    public init(
        maxLineCharacters: Int = 42, maxLines: Int = 2, minDuration: Double = 1, maxDuration: Double = 7,
        maxCharactersPerSecond: Double = 20
    ) {
        self.maxLineCharacters = maxLineCharacters
        self.maxLines = maxLines
        self.minDuration = minDuration
        self.maxDuration = maxDuration
        self.maxCharactersPerSecond = maxCharactersPerSecond
    }

    /// Throws unless the numbers can make subtitles.
    public func validate() throws {
        guard maxLineCharacters >= 10 else {
            throw HearingAIError(.invalidOptions, reason: "--max-line-chars must be at least 10 (got \(maxLineCharacters))")
        }
        guard (1...5).contains(maxLines) else {
            throw HearingAIError(.invalidOptions, reason: "--max-lines must be 1 to 5 (got \(maxLines))")
        }
        guard minDuration > 0, maxDuration >= minDuration, maxCharactersPerSecond > 0 else {
            throw HearingAIError(
                .invalidOptions, reason: "subtitle durations and reading speed must be positive, the shortest below the longest")
        }
    }
}

/// One subtitle: when it shows, whose words, and its lines.
public struct SubtitleCue: Sendable, Hashable {
    /// When it appears, in seconds on the file's clock.
    public var start: Double
    /// When it goes, in seconds.
    public var end: Double
    /// The speaker of every word in it, when known.
    public var speaker: String?
    /// Its lines, top to bottom.
    public var lines: [String]
    /// Its words, in order.
    public var words: [Word]

    /// Characters a viewer reads: the lines' characters and a space between lines.
    public var characterCount: Int { lines.reduce(0) { $0 + $1.count } + max(0, lines.count - 1) }
}

extension SubtitleStyle {
    /// The transcript's words laid out as cues. Every word is in exactly one cue, in order.
    /// With `speakerLabels`, a cue whose speaker differs from the previous cue's starts with
    /// `Name:`, counted in its lines (SRT has no voice tags; WebVTT's are not shown as text).
    public func cues(for segments: [Segment], speakerLabels: Bool = false) -> [SubtitleCue] {
        var cues: [SubtitleCue] = []
        for segment in segments where !segment.words.isEmpty {
            var rest = segment.words[...]
            while !rest.isEmpty {
                var label: Word?
                if speakerLabels, let speaker = segment.speaker, speaker != cues.last?.speaker {
                    label = Word(text: "\(speaker):", start: rest.first!.start, end: rest.first!.start, confidence: 1)
                }
                let laid = (label.map { [$0] } ?? []) + rest
                let count = max(1, cueLength(laid[...]) - (label == nil ? 0 : 1))
                let words = Array(rest.prefix(count))
                rest = rest.dropFirst(count)
                cues.append(
                    SubtitleCue(
                        start: words.first!.start, end: words.last!.end, speaker: segment.speaker,
                        lines: lines(for: (label.map { [$0] } ?? []) + words), words: words))
            }
        }
        return timed(cues)
    }

    /// How many of `words` go in the next cue: as many as fit the lines and the longest
    /// duration; when they do not all fit, the best break among the last fitting half
    /// (punctuation, then the longest pause).
    private func cueLength(_ words: ArraySlice<Word>) -> Int {
        let first = words.startIndex
        var fitting = 0
        for index in words.indices {
            let candidate = words[first...index]
            let tooLong = index > first && words[index].end - words[first].start > maxDuration
            if tooLong || !fits(Array(candidate)) { break }
            fitting += 1
        }
        fitting = max(1, fitting)
        if fitting == words.count { return fitting }
        // Choose where this cue ends among the fitting prefixes of at least half its length.
        var best = (score: -Double.infinity, length: fitting)
        for length in max(1, (fitting + 1) / 2)...fitting {
            let last = words[first + length - 1]
            let next = words[first + length]
            var score = min(next.start - last.end, 1.5) + Self.phraseBreak(after: last.text, before: next.text)
            if Self.endsClause(last.text) { score += 2 }
            score += 0.05 * Double(length)  // longer cues, other things equal
            if score > best.score { best = (score, length) }
        }
        return best.length
    }

    /// Whether `words` can be set in at most ``maxLines`` lines of at most
    /// ``maxLineCharacters`` (a word longer than a line counts as a line of its own).
    private func fits(_ words: [Word]) -> Bool {
        lineCount(words.map(\.text)) <= maxLines
    }

    /// The fewest lines `texts` can be set in: filling each line before the next is optimal
    /// for the count.
    private func lineCount(_ texts: [String]) -> Int {
        var lines = 1
        var length = 0
        for text in texts {
            if length == 0 {
                length = text.count
            } else if length + 1 + text.count <= maxLineCharacters {
                length += 1 + text.count
            } else {
                lines += 1
                length = text.count
            }
        }
        return lines
    }

    /// `words` broken into the fewest lines that fit, at the best places: after punctuation,
    /// at pauses, with lines of even length.
    func lines(for words: [Word]) -> [String] {
        let texts = words.map(\.text)
        let total = texts.reduce(0) { $0 + $1.count } + max(0, texts.count - 1)
        if total <= maxLineCharacters || texts.count == 1 { return [texts.joined(separator: " ")] }
        let needed = lineCount(texts)
        // Lowest cost of setting texts[i...] in `lines` lines, and where its first line ends.
        let target = Double(total) / Double(needed)
        var memo: [Int: (cost: Double, end: Int)] = [:]
        func best(_ start: Int, _ lines: Int) -> (cost: Double, end: Int) {
            let key = start * 8 + lines
            if let known = memo[key] { return known }
            var result = (cost: Double.infinity, end: texts.count)
            if lines == 1 {
                let length = lineLength(texts[start...])
                if length <= maxLineCharacters || start == texts.count - 1 {
                    result = (pow2(Double(length) - target), texts.count)
                }
            } else {
                var length = -1
                for end in (start + 1)..<texts.count {
                    length += 1 + texts[end - 1].count
                    if length > maxLineCharacters, end - start > 1 { break }
                    let rest = best(end, lines - 1)
                    guard rest.cost.isFinite else { continue }
                    var cost = pow2(Double(length) - target) + rest.cost
                    if Self.endsClause(texts[end - 1]) { cost -= 60 }
                    cost -= 30 * Self.phraseBreak(after: texts[end - 1], before: texts[end])
                    cost -= 40 * min(words[end].start - words[end - 1].end, 1)
                    if cost < result.cost { result = (cost, end) }
                }
            }
            memo[key] = result
            return result
        }
        var lines: [String] = []
        var start = 0
        var remaining = needed
        while start < texts.count {
            let end = remaining > 1 ? best(start, remaining).end : texts.count
            guard end > start else { break }
            lines.append(texts[start..<end].joined(separator: " "))
            start = end
            remaining -= 1
        }
        return lines
    }

    private func lineLength(_ texts: ArraySlice<String>) -> Int {
        texts.reduce(0) { $0 + $1.count } + max(0, texts.count - 1)
    }

    private func pow2(_ value: Double) -> Double { value * value }

    /// How good a place between `after` and `before` is for a break, by the words alone
    /// (English): +1 before a word that starts a clause, −1.5 after one that leads into the
    /// next (an article, a preposition, a pronoun before its verb).
    static func phraseBreak(after: String, before: String) -> Double {
        func key(_ word: String) -> String { word.lowercased().filter { $0.isLetter || $0 == "'" } }
        var score = 0.0
        if clauseStarters.contains(key(before)) { score += 1 }
        if leadsOn.contains(key(after)) { score -= 1.5 }
        return score
    }

    private static let clauseStarters: Set<String> = [
        "and", "but", "or", "so", "because", "when", "where", "how", "what", "why", "who", "which", "that", "if", "then",
        "while", "although", "though", "until", "unless", "since", "after", "before", "i",
    ]

    private static let leadsOn: Set<String> = [
        "a", "an", "the", "to", "of", "in", "on", "at", "for", "with", "from", "by", "into", "about", "and", "or", "but", "my",
        "your", "our", "their", "his", "her", "its", "this", "that", "these", "those", "we", "you", "they", "he", "she", "i",
        "is", "are", "was", "were", "will", "would", "can", "could", "should", "have", "has", "had", "do", "does", "did", "not",
        "very", "some", "any", "no",
    ]

    /// Whether a word ends a clause: a full stop, comma, question mark and the like.
    static func endsClause(_ word: String) -> Bool {
        guard let last = word.last else { return false }
        return ".,;:!?…".contains(last)
    }

    /// Cue times: each stays up for at least its reading time and ``minDuration``, at most
    /// ``maxDuration``, and never past the start of the next cue.
    private func timed(_ cues: [SubtitleCue]) -> [SubtitleCue] {
        var result = cues
        for index in result.indices {
            let cue = result[index]
            let wanted = max(minDuration, Double(cue.characterCount) / maxCharactersPerSecond)
            var end = max(cue.end, cue.start + wanted)
            end = min(end, cue.start + max(maxDuration, cue.end - cue.start))
            if index + 1 < result.count { end = min(end, max(cue.end, result[index + 1].start)) }
            result[index].end = (end * 1000).rounded() / 1000
        }
        return result
    }
}
