public import Foundation
public import Logging

/// Where finished chunks' words are kept so that an interrupted run resumes from its last
/// finished chunk: the file cache of `hearingai transcribe`, or the ingest service's database.
public protocol ChunkCheckpoints: Sendable {
    /// What was stored for chunk `index`, if anything.
    func load(chunk index: Int) async -> DecodedChunk?
    /// Stores chunk `index`'s words and guard counts.
    func store(_ chunk: DecodedChunk, chunk index: Int) async throws
}

/// How every checkpoint store keeps a finished chunk: JSON of a ``DecodedChunk`` (older
/// checkpoints, a bare word array, still load).
public enum CheckpointCoding {
    /// The stored form of `chunk`.
    public static func encode(_ chunk: DecodedChunk) throws -> Data {
        try JSONEncoder().encode(chunk)
    }

    /// The stored checkpoint of chunk `index`, or nil when it does not decode: garbage in a
    /// checkpoint is the store's fault, not the audio's, so it is logged and the chunk is
    /// decoded again (storing it replaces the garbage).
    public static func decode(_ data: Data, chunk index: Int, logger: Logger?) -> DecodedChunk? {
        do {
            return try JSONDecoder().decode(DecodedChunk.self, from: data)
        } catch {
            logger?.warning(
                "Checkpoint does not decode; decoding the chunk again",
                metadata: [
                    "chunk.index": "\(index)", "error": "\(error)",
                ])
            return nil
        }
    }
}
