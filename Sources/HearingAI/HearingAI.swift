import Foundation

/// Transcribes `path` with `configuration` and returns the transcript. The engine is
/// `engine` if given, else the one `configuration` names, made by `engines`. A memory limit in
/// `configuration` is applied to the process first, as ``setMemoryLimit(megabytes:)`` would.
/// Decoders are created for this call and freed before it returns.
public func transcribe(
    _ path: String,
    configuration: PipelineConfiguration = PipelineConfiguration(),
    engine: (any TranscriptionEngine)? = nil,
    engines: EngineRegistry = .embedded,
    progress: (@Sendable (TranscriptionProgress) -> Void)? = nil
) async throws -> Transcript {
    try configuration.validate()
    if let limit = configuration.memoryLimit {
        setMemoryLimit(megabytes: limit.megabytes)
    }
    let engine = try engine ?? engines.makeEngine(configuration.engine)
    return try await pipelineSession(engine: engine, maxWorkers: configuration.maxWorkers) { session in
        try await session.transcribe(path, configuration: configuration, progress: progress)
    }
}

/// Transcribes `path` in chunks of `chunkSize` seconds overlapping by `overlap` seconds, with up
/// to `maxWorkers` chunks decoding at once: the form the PyHearingAI seed documents.
public func transcribeChunked(
    _ path: String,
    chunkSize: Double = ChunkPlan.defaultChunkSize,
    overlap: Double = ChunkPlan.defaultOverlap,
    maxWorkers: Int = PipelineConfiguration.defaultWorkers,
    engine: any TranscriptionEngine = PocketSphinxEngine(),
    progress: (@Sendable (TranscriptionProgress) -> Void)? = nil
) async throws -> Transcript {
    let configuration = PipelineConfiguration(chunking: ChunkPlan(chunkSize: chunkSize, overlap: overlap), maxWorkers: maxWorkers)
    return try await transcribe(path, configuration: configuration, engine: engine, progress: progress)
}

/// Finds who spoke when in `path`, without transcribing: the audio is streamed in chunks of
/// `chunkSize` seconds, as for transcription, and speakers are linked across chunks. With
/// ``DiarizationOptions/speakerPerChannel``, a multichannel file's channels are its speakers
/// (``ChannelDiarizer``) unless they turn out to be one signal.
public func diarize(
    _ path: String,
    options: DiarizationOptions = DiarizationOptions(),
    chunkSize: Double = ChunkPlan.defaultChunkSize
) async throws -> [SpeakerTurn] {
    try options.validate()
    let plan = ChunkPlan(chunkSize: chunkSize, overlap: 0)
    try plan.validate()
    let service = DiarizationService(options: options)
    let source = try await ChunkSource.open(path: path, configuration: PipelineConfiguration(chunking: plan, diarization: options))
    defer { source.close() }
    let levels = source.stream.channelLevels
    do {
        while let chunk = try await source.next() {
            if levels?.areDistinct != true { try await service.analyze(chunk, fileOffset: 0) }
        }
        if let levels, levels.areDistinct {
            await service.close()
            let names = options.channelNames
            return try await source.thread.run { ChannelDiarizer.turns(of: levels, names: names) }
        }
        let turns = try await service.finish()
        await service.close()
        return turns
    } catch {
        await service.close()
        throw error
    }
}

/// This HearingAI's version, as `--version`, the package, metrics and a shared queue's node
/// list give it.
public enum HearingAIVersion {
    /// The version (packaging/debian/changelog gives the same).
    public static let current = "0.1.0"
}
