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
}

/// One decoder: decodes one chunk at a time.
public protocol ChunkDecoder: AnyObject, Sendable {
    /// Decodes `chunk`. Word times are seconds from `chunk.samples[0]`.
    func decode(_ chunk: Chunk) async throws -> [Word]
    /// Releases the decoder's memory and threads. Idempotent.
    func close()
}
