import Foundation

/// Which chunks of a file may decode now, when the engine chains context: consecutive chunks
/// form *runs* of ``length``, a run's chunks decode one after another, each told what the ones
/// before it said (``Chunk/precedingText``), and up to ``slots`` runs decode side by side.
///
/// Runs are cut by chunk index alone (chunk `i` is in run `i / length`), never by how many
/// workers there are or which finished first, so one worker and several give the same requests
/// and the same transcript. With a length of 1 every chunk is a run of its own, and this is
/// plain "up to `slots` chunks at once".
///
/// The reader hands chunks over in order, and a run may start only when a slot is free, so at
/// most `slots` runs are open and at most `slots × length` chunks are held, read but not
/// finished: the pipeline reserves that memory up front (``queuedChunksPerSlot``).
struct ContextRuns {
    /// Chunks per run.
    let length: Int
    /// Runs that may be open at once (the workers).
    let slots: Int

    /// The most characters of preceding text handed to a chunk; the engine keeps what it can
    /// use of the end.
    static let maxPrecedingCharacters = 1000

    private struct Run {
        /// Read, not yet started, in order.
        var queued: [Chunk] = []
        var decoding = false
        /// What the run's finished chunks said, on the file's clock, the last few hundred words.
        var words: [Word] = []
        /// The last words of the run's last finished chunk.
        var lastChunkWords: [Word] = []
    }

    private var open: [Int: Run] = [:]
    private var lastRead = -1
    private var readingDone = false
    /// Seconds added to a chunk's own times to put them on the file's clock.
    private let fileOffset: Double

    init(length: Int, slots: Int, fileOffset: Double = 0) {
        self.length = max(1, length)
        self.slots = max(1, slots)
        self.fileOffset = fileOffset
    }

    /// Chunks a slot may hold beyond the one decoding: the rest of its run.
    static func queuedChunksPerSlot(length: Int) -> Int { max(1, length) - 1 }

    /// The run of chunk `index`.
    func run(of index: Int) -> Int { index / length }

    /// Whether chunk `index` (the next one read) can be taken now: its run is open, or a slot is
    /// free to open it. When not, a chunk must finish first.
    func accepts(_ index: Int) -> Bool {
        open[run(of: index)] != nil || open.count < slots
    }

    /// Takes `chunk`, which ``accepts(_:)`` allowed; returns what may start decoding now.
    mutating func add(_ chunk: Chunk) -> [Chunk] {
        precondition(accepts(chunk.index), "chunk \(chunk.index) taken without a free slot")
        lastRead = chunk.index
        let key = run(of: chunk.index)
        open[key, default: Run()].queued.append(chunk)
        return startable(key)
    }

    /// Notes that the reader has reached the end of the file.
    mutating func endOfInput() {
        readingDone = true
        for key in open.keys where isComplete(key) { open[key] = nil }
    }

    /// Notes that chunk `index` finished with `words` (its own words, on the file's clock);
    /// returns what may start decoding now.
    mutating func finished(_ index: Int, words: [Word]) -> [Chunk] {
        let key = run(of: index)
        guard var run = open[key] else { return [] }
        run.decoding = false
        if length > 1 {
            run.words += words
            if run.words.count > 400 { run.words.removeFirst(run.words.count - 200) }
            run.lastChunkWords = Array(words.suffix(ReconciliationService.seamWordCount))
        }
        open[key] = run
        if isComplete(key) {
            open[key] = nil
            return []
        }
        return startable(key)
    }

    /// Runs open (for tests and logs).
    var openRuns: Int { open.count }

    private func isComplete(_ key: Int) -> Bool {
        guard let run = open[key], run.queued.isEmpty, !run.decoding else { return false }
        let lastIndex = (key + 1) * length - 1
        return readingDone || lastRead >= lastIndex
    }

    /// The run's next chunk, if none of its chunks is decoding, with the text before it.
    private mutating func startable(_ key: Int) -> [Chunk] {
        guard var run = open[key], !run.decoding, !run.queued.isEmpty else { return [] }
        var chunk = run.queued.removeFirst()
        run.decoding = true
        if length > 1, chunk.index % length != 0 {
            let text = Self.precedingText(run.words, before: fileOffset + chunk.startSeconds)
            chunk.precedingText = text.isEmpty ? nil : text
            chunk.seamWords = run.lastChunkWords
        }
        open[key] = run
        return [chunk]
    }

    /// The words that end before `seconds` (where the next chunk's audio begins: the words in
    /// the overlap are heard again there), joined, at most ``maxPrecedingCharacters`` from the
    /// end, in whole words.
    static func precedingText(_ words: [Word], before seconds: Double) -> String {
        var parts: [Substring] = []
        var characters = 0
        for word in words.reversed() where word.end <= seconds + 0.05 {
            let text = word.text.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            if characters + text.count + (parts.isEmpty ? 0 : 1) > maxPrecedingCharacters { break }
            characters += text.count + (parts.isEmpty ? 0 : 1)
            parts.append(Substring(text))
        }
        return parts.reversed().joined(separator: " ")
    }
}
