import Foundation

/// Transcribes `path` with `options` on `engine` (PocketSphinx by default) and returns the
/// transcript. Decoders are created for this call and freed before it returns.
public func transcribe(
    _ path: String,
    options: TranscriptionOptions = TranscriptionOptions(),
    engine: any TranscriptionEngine = PocketSphinxEngine(),
    progress: (@Sendable (TranscriptionProgress) -> Void)? = nil
) async throws -> Transcript {
    try await pipelineSession(engine: engine, maxWorkers: options.maxWorkers) { session in
        try await session.transcribe(path, options: options, progress: progress)
    }
}

/// Transcribes `path` in chunks of `chunkSize` seconds overlapping by `overlap` seconds, with up
/// to `maxWorkers` chunks decoding at once: the form the PyHearingAI seed documents.
public func transcribeChunked(
    _ path: String,
    chunkSize: Double = ChunkPlan.defaultChunkSize,
    overlap: Double = ChunkPlan.defaultOverlap,
    maxWorkers: Int = TranscriptionOptions.defaultWorkers,
    engine: any TranscriptionEngine = PocketSphinxEngine(),
    progress: (@Sendable (TranscriptionProgress) -> Void)? = nil
) async throws -> Transcript {
    let options = TranscriptionOptions(chunking: ChunkPlan(chunkSize: chunkSize, overlap: overlap), maxWorkers: maxWorkers)
    return try await transcribe(path, options: options, engine: engine, progress: progress)
}
