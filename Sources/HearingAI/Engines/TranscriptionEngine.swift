/// A speech-to-text engine: a factory of decoders that turn chunks into words.
///
/// An engine is cheap; its decoders are not (a PocketSphinx decoder holds about 100 MB of
/// models). The pipeline creates decoders through the engine, pools them, and accounts for
/// their memory.
public protocol TranscriptionEngine: Sendable {
    /// The engine's name for metadata and logs, such as "pocketsphinx".
    var name: String { get }
    /// The model the engine uses, for metadata.
    var modelDescription: String { get }
    /// Creates a decoder. May block for a while (model loading) off the cooperative pool.
    func makeDecoder() async throws -> any ChunkDecoder
    /// What a decoder costs in memory, before one has been measured.
    var decoderCost: DecoderCost { get }
    /// How many consecutive chunks make a *context run*: a run's chunks decode in order, each
    /// given what the ones before it said (``Chunk/precedingText``), while runs decode side by
    /// side. 1 (the default) for an engine whose chunks are independent.
    var contextRunLength: Int { get }
}

extension TranscriptionEngine {
    /// Chunks are independent.
    public var contextRunLength: Int { 1 }
}

/// One decoder: decodes one chunk at a time.
public protocol ChunkDecoder: AnyObject, Sendable {
    /// Decodes `chunk`, one of `run`'s. Word times are seconds from `chunk.samples[0]`.
    func decode(_ chunk: Chunk, run: DecodingRun) async throws -> DecodedChunk
    /// Releases the decoder's memory and threads. Idempotent.
    func close()
}

extension ChunkDecoder {
    /// Decodes `chunk` as a run of its own.
    public func decode(_ chunk: Chunk) async throws -> DecodedChunk {
        try await decode(chunk, run: DecodingRun())
    }
}

/// What the chunks of one transcription run share while they decode, whichever decoders they
/// land on: a new one for every run.
public final class DecodingRun: Sendable {
    /// The language the run's first chunk with speech was heard in, for engines that detect it
    /// and send it with the rest.
    public let language = FirstResult<String>()

    /// A run.
    public init() {}
}

/// A value the first of several concurrent callers works out and the others wait for.
public actor FirstResult<Value: Sendable> {
    private enum State {
        case open
        case leading([CheckedContinuation<Value?, Never>])
        case settled(Value?)
    }

    private var state = State.open

    /// A value not yet worked out.
    public init() {}

    /// What a caller of ``claim()`` is to do.
    public enum Claim: Sendable {
        /// Work it out, then ``settle(_:)`` (with nil if that failed): the others wait.
        case lead
        /// Use this (nil when the leader could not tell).
        case settled(Value?)
    }

    /// The first caller leads; the others wait until it settles.
    public func claim() async -> Claim {
        switch state {
        case .open:
            state = .leading([])
            return .lead
        case .settled(let value):
            return .settled(value)
        case .leading(var waiters):
            let value = await withCheckedContinuation { continuation in
                waiters.append(continuation)
                state = .leading(waiters)
            }
            return .settled(value)
        }
    }

    /// Ends the lead with `value` and wakes the waiters. Later calls change nothing.
    public func settle(_ value: Value?) {
        guard case .leading(let waiters) = state else {
            if case .open = state { state = .settled(value) }
            return
        }
        state = .settled(value)
        for waiter in waiters { waiter.resume(returning: value) }
    }
}

/// What a decoder made of one chunk: its words, and what its hallucination guards did.
///
/// This is also what a chunk checkpoint holds, so a resumed run reports the guards of the chunks
/// it did not decode again.
public struct DecodedChunk: Sendable, Hashable, Codable {
    /// The chunk's words. Times are seconds from the chunk's first sample as decoded, and on
    /// the file's clock once reconciled.
    public var words: [Word]
    /// What the engine's guards dropped or skipped, for engines that guard (nil for others).
    public var guards: GuardCounts?
    /// The language the engine says it heard, for engines that say (an ISO-639-1 code when it
    /// is one Whisper knows).
    public var language: String?

    /// A decoded chunk.
    public init(words: [Word], guards: GuardCounts? = nil, language: String? = nil) {
        self.words = words
        self.guards = guards
        self.language = language
    }

    enum CodingKeys: String, CodingKey {
        case words, guards, language
    }

    /// Decodes a chunk, or the bare word array checkpoints held before guards were counted.
    public init(from decoder: any Decoder) throws {
        if let words = try? [Word](from: decoder) {
            self.init(words: words)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            words: try container.decode([Word].self, forKey: .words),
            guards: try container.decodeIfPresent(GuardCounts.self, forKey: .guards),
            language: try container.decodeIfPresent(String.self, forKey: .language))
    }
}

/// What an engine's hallucination guards did over a chunk or a whole run (the OpenAI-compatible
/// engine's: a Whisper-class model can write text over silence, repeat itself or loop).
public struct GuardCounts: Sendable, Hashable, Codable {
    /// Chunks not sent to the engine because the voice detector found no speech in them.
    public var silentChunks = 0
    /// Segments dropped because their time held almost no speech.
    public var overSilence = 0
    /// Segments dropped because they repeated the segment before.
    public var repeats = 0
    /// Segments dropped as loops (compression ratio above 2.4, Whisper's rule).
    public var loops = 0
    /// Chunks asked again at a higher temperature after a loop.
    public var retries = 0
    /// Chunks whose answer left speech out after a prompt of the text before them (Whisper
    /// skipping ahead), asked again without it.
    public var skippedSpeech = 0

    /// Counts.
    public init(
        silentChunks: Int = 0, overSilence: Int = 0, repeats: Int = 0, loops: Int = 0, retries: Int = 0, skippedSpeech: Int = 0
    ) {
        self.silentChunks = silentChunks
        self.overSilence = overSilence
        self.repeats = repeats
        self.loops = loops
        self.retries = retries
        self.skippedSpeech = skippedSpeech
    }

    private enum CodingKeys: String, CodingKey {
        case silentChunks, overSilence, repeats, loops, retries, skippedSpeech
    }

    /// Reads counts, also those stored before a count was added (it is 0).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func count(_ key: CodingKeys) throws -> Int { try container.decodeIfPresent(Int.self, forKey: key) ?? 0 }
        self.init(
            silentChunks: try count(.silentChunks), overSilence: try count(.overSilence), repeats: try count(.repeats),
            loops: try count(.loops), retries: try count(.retries), skippedSpeech: try count(.skippedSpeech))
    }

    /// Segments dropped, for any reason.
    public var segmentsDropped: Int { overSilence + repeats + loops }

    /// Whether the guards did nothing.
    public var isEmpty: Bool { silentChunks + segmentsDropped + retries + skippedSpeech == 0 }

    /// The counts of two chunks (or runs) together.
    public static func + (lhs: GuardCounts, rhs: GuardCounts) -> GuardCounts {
        GuardCounts(
            silentChunks: lhs.silentChunks + rhs.silentChunks, overSilence: lhs.overSilence + rhs.overSilence,
            repeats: lhs.repeats + rhs.repeats, loops: lhs.loops + rhs.loops, retries: lhs.retries + rhs.retries,
            skippedSpeech: lhs.skippedSpeech + rhs.skippedSpeech)
    }

    /// The counts of every chunk in `chunks` that reported some, or nil when none did (an
    /// engine without guards).
    public static func total(_ chunks: some Sequence<GuardCounts?>) -> GuardCounts? {
        chunks.reduce(nil) { total, counts in
            guard let counts else { return total }
            return (total ?? GuardCounts()) + counts
        }
    }

    /// The counts for a log line or `--show-chunks`: only what happened, such as
    /// "no speech, not sent" or "dropped 1 over silence, 2 loops; asked again 1".
    public var summary: String {
        var parts: [String] = []
        if silentChunks > 0 { parts.append(silentChunks == 1 ? "no speech, not sent" : "\(silentChunks) chunks without speech, not sent") }
        var dropped: [String] = []
        if overSilence > 0 { dropped.append("\(overSilence) over silence") }
        if repeats > 0 { dropped.append("\(repeats) \(repeats == 1 ? "repeat" : "repeats")") }
        if loops > 0 { dropped.append("\(loops) \(loops == 1 ? "loop" : "loops")") }
        if !dropped.isEmpty { parts.append("dropped " + dropped.joined(separator: ", ")) }
        if retries > 0 { parts.append("asked again at a higher temperature") }
        if skippedSpeech > 0 { parts.append("left speech out, asked again without the text before") }
        return parts.joined(separator: "; ")
    }
}

/// What a decoder costs in memory, for admission control.
///
/// A decoder costs its `footprint` once created, and grows with the length of what it decodes
/// (PocketSphinx's search tables); the growth stays with the decoder, so it is reserved once
/// per decoder for the longest chunk it has been given.
public struct DecoderCost: Sendable, Hashable {
    /// Resident bytes a new decoder adds, before it is measured.
    public var footprintBytes: Int
    /// Growth on the first chunk, whatever its length.
    public var fixedGrowthBytes: Int
    /// Further growth per second of chunk audio.
    public var growthBytesPerSecond: Int

    /// A cost model.
    public init(footprintBytes: Int, fixedGrowthBytes: Int, growthBytesPerSecond: Int) {
        self.footprintBytes = footprintBytes
        self.fixedGrowthBytes = fixedGrowthBytes
        self.growthBytesPerSecond = growthBytesPerSecond
    }

    /// Growth for a chunk of `seconds`.
    public func growth(forChunkSeconds seconds: Double) -> Int {
        fixedGrowthBytes + Int(Double(growthBytesPerSecond) * max(0, seconds))
    }

    /// Bytes a chunk's samples take while it is in flight (the array and one working copy).
    public static func chunkBufferBytes(seconds: Double) -> Int {
        Int(seconds * Double(ChunkPlan.sampleRate)) * MemoryLayout<Int16>.size * 2
    }
}
