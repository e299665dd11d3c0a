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
}

/// One decoder: decodes one chunk at a time.
public protocol ChunkDecoder: AnyObject, Sendable {
    /// Decodes `chunk`. Word times are seconds from `chunk.samples[0]`.
    func decode(_ chunk: Chunk) async throws -> [Word]
    /// Releases the decoder's memory and threads. Idempotent.
    func close()
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
