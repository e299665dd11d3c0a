import Foundation

/// Groups words into segments: a new segment at a long pause, a change of speaker, or when a
/// segment grows past what reads well as one subtitle.
public struct Segmenter: Sendable {
    /// A pause longer than this (seconds) ends a segment.
    public var pause: Double
    /// A segment longer than this (seconds) ends at the next word boundary.
    public var maxDuration: Double

    /// The default pause that ends a segment, in seconds.
    public static let defaultPause = 0.8

    /// A segmenter.
    public init(pause: Double = Segmenter.defaultPause, maxDuration: Double = 12) {
        self.pause = pause
        self.maxDuration = maxDuration
    }

    /// Segments of `words`, which must be in time order. Words from an engine that writes
    /// only lower case (PocketSphinx) are given sentence case: a capital at each segment's
    /// start, and "I" (see ``sentenceCased(_:)``).
    public func segments(of words: [Word]) -> [Segment] {
        var segments: [Segment] = []
        var current: [Word] = []
        let lowerCaseOnly = !words.contains { Self.hasCapital($0.text) }
        let words = Self.sentenceCased(words)
        for word in words {
            if let last = current.last, let first = current.first,
                word.start - last.end > pause || word.speaker != last.speaker || word.end - first.start > maxDuration
            {
                segments.append(Segment(words: current, speaker: first.speaker))
                current.removeAll()
            }
            current.append(word)
        }
        if let first = current.first {
            segments.append(Segment(words: current, speaker: first.speaker))
        }
        guard lowerCaseOnly else { return segments }
        return segments.map { segment in
            guard let first = segment.words.first, !Self.hasCapital(first.text) else { return segment }
            var words = segment.words
            words[0].text = first.text.prefix(1).uppercased() + first.text.dropFirst()
            return Segment(words: words, speaker: segment.speaker)
        }
    }

    /// `words` unchanged if any has a capital letter (the engine writes case itself);
    /// otherwise with the pronoun "i" (and "i'm", "i've", "i'll", "i'd") written "I".
    /// Segment starts are capitalised when segments are made.
    public static func sentenceCased(_ words: [Word]) -> [Word] {
        guard !words.contains(where: { hasCapital($0.text) }) else { return words }
        return words.map { word in
            guard word.text == "i" || word.text.hasPrefix("i'") else { return word }
            var cased = word
            cased.text = "I" + word.text.dropFirst()
            return cased
        }
    }

    private static func hasCapital(_ text: String) -> Bool {
        text.unicodeScalars.contains { CharacterSet.uppercaseLetters.contains($0) }
    }
}
