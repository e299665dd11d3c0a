public import Logging

/// Several files through one set of decoders: PyHearingAI's `pipeline_session`.
///
/// Decoders are created for the first file and reused for the next; everything is closed
/// when the session's body returns or throws.
public final class PipelineSession: Sendable {
    /// The orchestrator the session's files go through.
    public let orchestrator: WorkflowOrchestrator

    init(orchestrator: WorkflowOrchestrator) {
        self.orchestrator = orchestrator
    }

    /// Transcribes `path` on the session's decoders.
    public func transcribe(
        _ path: String,
        configuration: PipelineConfiguration = PipelineConfiguration(),
        checkpoints: (any ChunkCheckpoints)? = nil,
        progress: (@Sendable (TranscriptionProgress) -> Void)? = nil
    ) async throws -> Transcript {
        try await orchestrator.transcribe(path, configuration: configuration, checkpoints: checkpoints, progress: progress)
    }

    /// Decoders created so far in this session.
    public var decodersCreated: Int {
        get async { await orchestrator.transcription.decodersCreated }
    }
}

/// Runs `body` with a ``PipelineSession`` that reuses decoders across files, and closes
/// everything it created when `body` returns or throws.
public func pipelineSession<Result: Sendable>(
    engine: any TranscriptionEngine = PocketSphinxEngine(),
    maxWorkers: Int = PipelineConfiguration.defaultWorkers,
    cache: ChunkCache? = nil,
    resources: ResourceManager = .shared,
    logger: Logger = Logger(label: "hearingai"),
    _ body: (PipelineSession) async throws -> Result
) async throws -> Result {
    let orchestrator = WorkflowOrchestrator(engine: engine, maxWorkers: maxWorkers, cache: cache, resources: resources, logger: logger)
    let session = PipelineSession(orchestrator: orchestrator)
    do {
        let result = try await body(session)
        await orchestrator.close()
        return result
    } catch {
        await orchestrator.close()
        throw error
    }
}
