public import Logging
import Foundation

/// Runs the pipeline for one file at a time: read and chunk the audio on a thread of its own,
/// decode up to `maxWorkers` chunks at once on pooled decoders, keep each word once, assemble
/// the transcript in time order.
///
/// An orchestrator owns the services it creates and can serve several files in a row (that is
/// what a ``PipelineSession`` does), reusing its decoders. Call ``close()`` when done.
public final class WorkflowOrchestrator: Sendable {
    /// The engine in use.
    public let engine: any TranscriptionEngine
    /// The service that owns the decoders.
    public let transcription: TranscriptionService
    /// Where chunk checkpoints go, or nil for none.
    public let cache: ChunkCache?
    let maxWorkers: Int
    let logger: Logger

    /// An orchestrator that will run up to `maxWorkers` decoders of `engine`.
    public init(
        engine: any TranscriptionEngine = PocketSphinxEngine(),
        maxWorkers: Int = TranscriptionOptions.defaultWorkers,
        cache: ChunkCache? = nil,
        logger: Logger = Logger(label: "hearingai")
    ) {
        self.engine = engine
        self.maxWorkers = max(1, maxWorkers)
        self.transcription = TranscriptionService(engine: engine, maxDecoders: self.maxWorkers)
        self.cache = cache
        self.logger = logger
    }

    /// Transcribes `path`. `progress` is called after every chunk, from any thread.
    public func transcribe(
        _ path: String,
        options: TranscriptionOptions = TranscriptionOptions(),
        progress: (@Sendable (TranscriptionProgress) -> Void)? = nil
    ) async throws -> Transcript {
        try options.validate()
        let clock = ContinuousClock()
        let started = clock.now
        SystemInfo.resetPeakResident()
        let loadBefore = await transcription.pool.loadSeconds

        let source = try await ChunkSource.open(path: path, options: options)
        defer { source.close() }
        let info = source.stream.file.info
        let audioTotal = source.stream.expectedDuration
        let plan = options.chunking
        let workers = min(maxWorkers, options.maxWorkers)
        let estimatedChunks = max(1, Int((audioTotal / plan.chunkSize).rounded(.up)))

        let checkpoints = cache.flatMap { cache in
            ChunkCache.key(path: path, options: options, engine: engine).map { cache.entry(forKey: $0) }
        }

        var logger = self.logger
        logger[metadataKey: "file.path"] = "\(path)"
        logger.debug("Transcription started", metadata: [
            "audio.format": "\(info.formatName)", "audio.rate": "\(info.sampleRate)",
            "audio.channels": "\(info.channels)", "audio.duration": "\(audioTotal)",
            "workers": "\(workers)",
        ])

        var results: [Int: [Word]] = [:]
        var done = TranscriptionProgress(chunksDone: 0, chunksTotal: estimatedChunks, audioDone: 0, audioTotal: audioTotal, elapsed: 0)
        var chunkCount = 0

        try await withThrowingTaskGroup(of: (ChunkReport, [Word]).self) { group in
            var inFlight = 0
            func collect(_ report: ChunkReport, _ words: [Word]) {
                results[report.index] = words
                done.chunksDone += 1
                done.audioDone += report.end - report.start
                done.elapsed = (clock.now - started).seconds
                done.chunk = report
                progress?(done)
            }
            while let chunk = try await source.next() {
                chunkCount += 1
                done.chunksTotal = max(done.chunksTotal, chunkCount)
                if inFlight >= workers, let (report, words) = try await group.next() {
                    inFlight -= 1
                    collect(report, words)
                }
                let service = transcription
                let offset = options.startTime
                group.addTask {
                    try await Self.process(chunk, service: service, checkpoints: checkpoints, fileOffset: offset)
                }
                inFlight += 1
            }
            while let (report, words) = try await group.next() {
                collect(report, words)
            }
        }

        guard chunkCount > 0 else {
            throw HearingAIError(.noAudio, path: path, reason: "no audio data in the selected range")
        }
        let words = (0..<chunkCount).flatMap { results[$0] ?? [] }.sorted { $0.start < $1.start }
        let segments = Segmenter(pause: options.segmentPause).segments(of: words)
        let duration = Double(source.stream.samplesProduced) / Double(AudioStream.sampleRate)
        let total = (clock.now - started).seconds
        let loadSeconds = await transcription.pool.loadSeconds - loadBefore

        let metadata = TranscriptMetadata(
            source: path,
            duration: duration,
            startTime: options.startTime,
            inputFormat: info.formatName,
            inputSampleRate: info.sampleRate,
            inputChannels: info.channels,
            engine: engine.name,
            model: engine.modelDescription,
            chunking: .init(chunkSize: plan.chunkSize, overlap: plan.overlap, boundaryWindow: plan.boundaryWindow, chunks: chunkCount, maxWorkers: workers),
            timings: .init(total: total, engineLoad: loadSeconds, speed: total > 0 ? duration / total : 0),
            memory: .init(limitMB: nil, limitSource: nil, peakRSSMB: Double(SystemInfo.peakResidentBytes()) / 1_048_576, workersAllowed: workers)
        )
        logger.debug("Transcription finished", metadata: ["chunks": "\(chunkCount)", "words": "\(words.count)", "seconds": "\(total)"])
        return Transcript(segments: segments, metadata: metadata)
    }

    /// Removes the checkpoints of a finished run of `path` with `options`.
    public func discardCheckpoints(for path: String, options: TranscriptionOptions) {
        guard let cache, let key = ChunkCache.key(path: path, options: options, engine: engine) else { return }
        cache.entry(forKey: key).remove()
    }

    /// Decodes one chunk (or takes it from the checkpoints) and keeps the words it owns.
    private static func process(
        _ chunk: Chunk, service: TranscriptionService, checkpoints: ChunkCache.Entry?, fileOffset: Double
    ) async throws -> (ChunkReport, [Word]) {
        let owned = chunk.ownedSeconds
        let report = { (words: [Word], seconds: Double, cached: Bool) in
            ChunkReport(index: chunk.index, start: fileOffset + owned.lowerBound, end: fileOffset + owned.upperBound,
                        words: words.count, decodeSeconds: seconds, cached: cached)
        }
        if let cached = checkpoints?.load(chunk: chunk.index) {
            return (report(cached, 0, true), cached)
        }
        let clock = ContinuousClock()
        let started = clock.now
        let raw = try await service.decode(chunk)
        let seconds = (clock.now - started).seconds
        // Keep a word only if its midpoint lies in the range this chunk owns; its neighbour
        // owns the rest of the overlap. Times move onto the file's clock.
        let words = raw.compactMap { word -> Word? in
            let start = chunk.startSeconds + word.start
            let end = chunk.startSeconds + word.end
            guard owned.contains((start + end) / 2) else { return nil }
            var moved = word
            moved.start = ((fileOffset + start) * 1000).rounded() / 1000
            moved.end = ((fileOffset + end) * 1000).rounded() / 1000
            moved.confidence = (word.confidence * 1000).rounded() / 1000
            return moved
        }
        try? checkpoints?.store(words, chunk: chunk.index)
        return (report(words, seconds, false), words)
    }

    /// Frees every resource the orchestrator created.
    public func close() async {
        await transcription.close()
    }
}
