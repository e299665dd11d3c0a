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
    public static func ownedWords(_ words: [Word], of chunk: Chunk, fileOffset: Double) -> [Word] {
        let owned = chunk.ownedSeconds
        return words.compactMap { word in
            let start = chunk.startSeconds + word.start
            let end = chunk.startSeconds + word.end
            // A word belongs to the chunk that owns its midpoint; the neighbour owns the rest
            // of the overlap, so a word heard by both is kept once.
            guard owned.contains((start + end) / 2) else { return nil }
            var moved = word
            moved.start = Self.milliseconds(fileOffset + start)
            moved.end = Self.milliseconds(fileOffset + end)
            moved.confidence = Self.milliseconds(word.confidence)
            return moved
        }
    }

    /// Records the reconciled words of chunk `index`.
    public func add(_ words: [Word], chunk index: Int) {
        results.withLock { $0[index] = words }
    }

    /// Chunks recorded so far.
    public var chunkCount: Int { results.withLock { $0.count } }

    /// All words in time order.
    public func words() -> [Word] {
        results.withLock { results in
            results.keys.sorted().flatMap { results[$0]! }
        }.sorted { $0.start < $1.start }
    }

    /// The segments of the transcript so far.
    public func segments(segmenter: Segmenter) -> [Segment] {
        segmenter.segments(of: words())
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
