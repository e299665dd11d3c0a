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

/// Finds who spoke when in `path`, without transcribing: the audio is streamed in chunks of
/// `chunkSize` seconds, as for transcription, and speakers are linked across chunks.
public func diarize(
    _ path: String,
    options: DiarizationOptions = DiarizationOptions(),
    chunkSize: Double = ChunkPlan.defaultChunkSize
) async throws -> [SpeakerTurn] {
    try options.validate()
    let plan = ChunkPlan(chunkSize: chunkSize, overlap: 0)
    try plan.validate()
    let service = DiarizationService(options: options)
    let source = try await ChunkSource.open(path: path, options: TranscriptionOptions(chunking: plan))
    defer { source.close() }
    do {
        while let chunk = try await source.next() {
            try await service.analyze(chunk, fileOffset: 0)
        }
        let turns = try await service.finish()
        await service.close()
        return turns
    } catch {
        await service.close()
        throw error
    }
}
