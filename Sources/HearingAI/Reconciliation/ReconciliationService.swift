import Synchronization

/// Reconciles chunk results into one transcript: keeps each word once (by the range each chunk
/// owns), moves times onto the file's clock, and assembles segments in time order however the
/// chunks finished.
///
/// It holds the words of the file being transcribed; ``close()`` releases them. A run's
/// orchestrator creates one and registers it with the ``ResourceManager``.
public final class ReconciliationService: ManagedResource {
    private let results = Mutex<[Int: [Word]]>([:])

    /// An empty reconciliation.
    public init() {}

    /// The words of `chunk` that it owns, on the file's clock (`fileOffset` is where the
    /// transcribed range starts in the file). `words` have times from `chunk.samples[0]`.
    ///
    /// A word belongs to the chunk that owns its midpoint; the neighbour owns the rest of the
    /// overlap, so a word heard by both is kept once. When the chunk knows the last words its
    /// predecessor kept (``Chunk/seamWords``), the seam is joined by text first: if those words
    /// end, in order, among this chunk's first words, this chunk takes over right after them,
    /// whatever the times say. Whisper's word times near the edges of an upload can be a second
    /// off, enough to lose a word to neither chunk or to keep it in both.
    public static func ownedWords(_ words: [Word], of chunk: Chunk, fileOffset: Double) -> [Word] {
        let owned = chunk.ownedSeconds
        // On the transcribed range's clock.
        let moved = words.map { word in
            var moved = word
            moved.start = chunk.startSeconds + word.start
            moved.end = chunk.startSeconds + word.end
            return moved
        }
        func onFileClock(_ word: Word) -> Word {
            var word = word
            word.start = Self.milliseconds(fileOffset + word.start)
            word.end = Self.milliseconds(fileOffset + word.end)
            word.confidence = Self.milliseconds(word.confidence)
            return word
        }
        let seam = chunk.seamWords.map { word in
            var word = word
            word.start -= fileOffset
            word.end -= fileOffset
            return word
        }
        if let splice = Self.splice(moved, after: seam, ownedStart: owned.lowerBound) {
            // Kept after the predecessor's last words, and never before them in time.
            let floor = seam.last?.end ?? 0
            return moved[splice...].compactMap { word in
                guard (word.start + word.end) / 2 < owned.upperBound else { return nil }
                var word = word
                if word.start < floor {
                    word.start = floor
                    word.end = max(word.end, floor)
                }
                return onFileClock(word)
            }
        }
        return moved.filter { owned.contains(($0.start + $0.end) / 2) }.map(onFileClock)
    }

    /// How many of a chunk's last words its successor in a context run is given to join the
    /// seam by.
    public static let seamWordCount = 4

    /// Where in `words` (a chunk's) the words after `seam` (the chunk before's last words, on
    /// the same clock) begin: after the longest run of `seam`'s last words found in order
    /// among `words`, its first word within ``seamTolerance`` × 3 of where the chunk before
    /// heard it and no later than 2 s past the owned start. Nil when none is found.
    static func splice(_ words: [Word], after seam: [Word], ownedStart: Double) -> Int? {
        guard !seam.isEmpty, !words.isEmpty else { return nil }
        let window = 3 * seamTolerance
        for length in stride(from: min(seam.count, seamWordCount), through: 1, by: -1) {
            let suffix = Array(seam.suffix(length))
            var best: (index: Int, distance: Double)?
            var index = 0
            while index + length <= words.count, words[index].start <= ownedStart + 2 {
                let matches = (0..<length).allSatisfy { sameWord(words[index + $0], suffix[$0]) }
                let distance = abs(words[index].start - suffix[0].start)
                if matches, distance <= window, distance < (best?.distance ?? .infinity) { best = (index + length, distance) }
                index += 1
            }
            if let best { return best.index }
        }
        return nil
    }

    /// `words` with the speaker of the turn each overlaps most, or of the nearest turn when a
    /// word falls in a gap the voice detector left. Unchanged when there are no turns.
    public static func assignSpeakers(_ words: [Word], turns: [SpeakerTurn]) -> [Word] {
        guard !turns.isEmpty else { return words }
        let turns = turns.sorted { $0.start < $1.start }
        var first = 0
        return words.map { word in
            // Turns ending before this word cannot matter to later words either.
            while first < turns.count - 1, turns[first].end < word.start - 1 { first += 1 }
            var best: (overlap: Double, distance: Double, speaker: String)?
            for turn in turns[first...] {
                if turn.start > word.end + 1 { break }
                let overlap = min(turn.end, word.end) - max(turn.start, word.start)
                let distance = max(0, max(turn.start - word.end, word.start - turn.end))
                if best == nil || overlap > best!.overlap || (overlap <= 0 && best!.overlap <= 0 && distance < best!.distance) {
                    best = (overlap, distance, turn.speaker)
                }
            }
            var labelled = word
            labelled.speaker = best?.speaker ?? turns.min { abs($0.start - word.start) < abs($1.start - word.start) }?.speaker
            return labelled
        }
    }

    /// Records the reconciled words of chunk `index`.
    public func add(_ words: [Word], chunk index: Int) {
        results.withLock { $0[index] = words }
    }

    /// Chunks recorded so far.
    public var chunkCount: Int { results.withLock { $0.count } }

    /// All words in time order, each kept once across chunk seams (``joinedAtSeams(_:)``).
    public func words() -> [Word] {
        Self.joinedAtSeams(results.withLock { results in results.keys.sorted().map { results[$0]! } })
            .sorted { $0.start < $1.start }
    }

    /// Two chunks that both heard a word near their seam can each place its midpoint in the
    /// range it owns when their times for it disagree (by a few hundred milliseconds): the
    /// same word then appears twice. At each seam, a word that repeats the one just before it
    /// (same spelling, ignoring case and punctuation) and starts within
    /// ``seamTolerance`` of it is the same word heard twice; the more confident copy is kept.
    /// A repetition spoken on purpose ("had had") is one word after the other and is kept
    /// unless it falls on a seam that close.
    static func joinedAtSeams(_ chunks: [[Word]]) -> [Word] {
        var joined: [Word] = []
        for chunk in chunks {
            var chunk = chunk[...]
            if let last = joined.last, let first = chunk.first, Self.sameWord(last, first),
                abs(first.start - last.start) <= seamTolerance
            {
                if first.confidence > last.confidence { joined[joined.count - 1] = first }
                chunk = chunk.dropFirst()
            }
            joined.append(contentsOf: chunk)
        }
        return joined
    }

    /// How far apart (seconds) two chunks' starts for one word may be.
    static let seamTolerance = 0.5

    private static func sameWord(_ a: Word, _ b: Word) -> Bool {
        func key(_ word: Word) -> String { word.text.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "'" } }
        return !key(a).isEmpty && key(a) == key(b)
    }

    /// The segments of the transcript so far, with speakers from `turns` when there are any;
    /// segments break at changes of speaker.
    public func segments(segmenter: Segmenter, turns: [SpeakerTurn] = []) -> [Segment] {
        segmenter.segments(of: Self.assignSpeakers(words(), turns: turns))
    }

    public var resourceName: String { "reconciliation" }

    public func footprintBytes() async -> Int {
        results.withLock { $0.values.reduce(0) { $0 + $1.count } } * (MemoryLayout<Word>.stride + 16)
    }

    /// Results are all in use until the transcript is assembled: nothing idle to free.
    public func releaseIdle() async {}

    /// Drops every result.
    public func close() async {
        results.withLock { $0.removeAll() }
    }

    private static func milliseconds(_ value: Double) -> Double {
        (value * 1000).rounded() / 1000
    }
}
