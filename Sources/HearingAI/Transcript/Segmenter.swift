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

    /// Segments of `words`, which must be in time order.
    public func segments(of words: [Word]) -> [Segment] {
        var segments: [Segment] = []
        var current: [Word] = []
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
        return segments
    }
}
