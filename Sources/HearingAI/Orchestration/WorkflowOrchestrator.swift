import CoreMetrics
import Foundation
public import Logging

/// Runs the pipeline for a file: read and chunk the audio on a thread of its own, decode
/// chunks on pooled decoders as the memory budget admits them (up to `maxWorkers` at once),
/// keep each word once, and assemble the transcript in time order.
///
/// Several files may run through one orchestrator at once (the ingest service does, for
/// short files): they share its decoders, never more than `maxWorkers`, and a file is let in
/// beside others only when it fits the budget with room for one more worker
/// (``RunAdmission``); otherwise it waits for a file to finish.
///
/// It registers what it creates — the transcription service, each run's reconciliation —
/// with its ``ResourceManager``, and watches memory with a ``ResourceSupervisor`` while a
/// file runs. It can serve several files in a row (a ``PipelineSession``), reusing decoders.
/// Call ``close()`` when done.
public final class WorkflowOrchestrator: Sendable {
    /// The engine in use.
    public let engine: any TranscriptionEngine
    /// The service that owns the decoders.
    public let transcription: TranscriptionService
    /// Where chunk checkpoints go, or nil for none.
    public let cache: ChunkCache?
    /// The owner of the memory budget and the resources.
    public let resources: ResourceManager
    let maxWorkers: Int
    /// Lets files run at once within the budget.
    let admission: RunAdmission
    let logger: Logger
    let memoryTrace: (@Sendable ([ResourceSupervisor.Sample]) -> Void)?

    /// An orchestrator that will run up to `maxWorkers` decoders of `engine` within the budget
    /// of `resources` (the shared manager by default).
    ///
    /// - Parameter memoryTrace: receives every memory sample of each run, for plotting.
    public init(
        engine: any TranscriptionEngine = PocketSphinxEngine(),
        maxWorkers: Int = PipelineConfiguration.defaultWorkers,
        cache: ChunkCache? = nil,
        resources: ResourceManager = .shared,
        logger: Logger = Logger(label: "hearingai"),
        memoryTrace: (@Sendable ([ResourceSupervisor.Sample]) -> Void)? = nil
    ) {
        self.engine = engine
        self.maxWorkers = max(1, maxWorkers)
        self.resources = resources
        self.transcription = TranscriptionService(engine: engine, maxDecoders: self.maxWorkers, budget: resources.budget)
        self.cache = cache
        self.admission = RunAdmission(budget: resources.budget)
        self.logger = logger
        self.memoryTrace = memoryTrace
        resources.register(transcription)
    }

    /// Transcribes `path`. `progress` is called after every chunk, from any thread.
    ///
    /// Finished chunks are stored in `checkpoints` (by default the orchestrator's cache) and
    /// taken from there on a later run, so an interrupted run resumes where it stopped. On
    /// cancellation, chunks already decoding finish and are stored before this throws.
    public func transcribe(
        _ path: String,
        configuration: PipelineConfiguration = PipelineConfiguration(),
        checkpoints explicitCheckpoints: (any ChunkCheckpoints)? = nil,
        progress: (@Sendable (TranscriptionProgress) -> Void)? = nil
    ) async throws -> Transcript {
        try configuration.validate()
        let clock = ContinuousClock()
        let started = clock.now
        let loadBefore = await transcription.pool.loadSeconds
        let plan = configuration.chunking

        // The file first: bad input is reported as such, and its length sizes diarization.
        // FFmpeg's child, when the file needs it, is reserved for first; idle decoders kept
        // from an earlier file make room for it if need be, and beside other files it waits
        // for one to end.
        let pool = transcription.pool
        let admission = self.admission
        let source = try await ChunkSource.open(
            path: path, configuration: configuration, budget: resources.budget,
            makeRoom: {
                if await pool.drainIdle() > 0 { return true }
                return await admission.waitForRunToEnd()
            })
        defer { source.close() }
        let audioTotal = source.stream.expectedDuration

        // Admission up front: refuse a limit that cannot fit one worker, and size the pool to
        // what fits so that no decoder is created that could never run.
        let longestChunk = plan.chunkSize + plan.boundaryWindow + 2 * plan.overlap
        let decoderBytes = await transcription.pool.bytesPerWorker(chunkSeconds: longestChunk)
        // Diarization, when on, runs beside the workers for the whole run.
        // With a speaker per channel, the channels' levels too (the voice diarizer's analysis
        // runs until the channels are known to differ, and takes over if they do not).
        let channelLevels = source.stream.channelLevels
        let diarizationBytes =
            configuration.diarization.enabled
            ? DiarizationService.reservedBytes(forSeconds: audioTotal)
                + (channelLevels.map { ChannelLevels.reservedBytes(forSeconds: audioTotal, channels: $0.channels) } ?? 0) : 0
        // An engine that chains context holds the rest of a run's chunks, read ahead of the
        // one decoding, for each worker.
        let runLength = max(1, engine.contextRunLength)
        let queuedBytes =
            ContextRuns.queuedChunksPerSlot(length: runLength) * Int(longestChunk * Double(ChunkPlan.sampleRate)) * MemoryLayout<Int16>.size
        let perWorker = decoderBytes + queuedBytes
        let fit = resources.budget.workersThatFit(perWorker: perWorker, besides: diarizationBytes + source.reservedBytes)
        let live = await transcription.pool.liveCount
        guard fit >= 1 || live >= 1 else {
            let limit = resources.limit.map { "\($0.megabytes) MB (\($0.source))" } ?? "the limit"
            throw HearingAIError(
                .memoryLimitTooSmall, path: path,
                reason:
                    "memory limit \(limit) is too small for one worker; the smallest that works is \(resources.budget.smallestLimitMB(perWorker: perWorker + diarizationBytes + source.reservedBytes)) MB"
            )
        }
        let workers = max(1, min(maxWorkers, configuration.maxWorkers, fit))
        await transcription.pool.setCapacity(workers)

        // The run's own reservation (the diarizer's, when on, and the chunks read ahead for
        // context runs) is held for the whole run; other files may run beside this one when it
        // and one more worker fit. Decoders reserve their own as they are acquired.
        let runBytes = diarizationBytes + workers * queuedBytes
        guard
            let admitted = await admission.admit(
                reserving: runBytes, perWorker: decoderBytes,
                makeRoom: {
                    // Decoders kept loaded from an earlier file hold the room: a new one is loaded
                    // for this file within what is left.
                    await pool.drainIdle() > 0
                })
        else {
            let limit = resources.limit.map { "\($0.megabytes) MB (\($0.source))" } ?? "the limit"
            throw HearingAIError(
                .memoryLimitTooSmall, path: path,
                reason:
                    "memory limit \(limit) is too small for one worker with diarization; the smallest that works is \(resources.budget.smallestLimitMB(perWorker: perWorker + diarizationBytes + source.reservedBytes)) MB"
            )
        }
        defer { self.admission.leave(releasing: runBytes) }
        // Peak RSS is the process's: it is measured per file only when no other file runs.
        if admitted == .alone { SystemInfo.resetPeakResident() }
        let diarizer: DiarizationService?
        if configuration.diarization.enabled {
            let service = DiarizationService(options: configuration.diarization)
            resources.register(service)
            diarizer = service
        } else {
            diarizer = nil
        }
        let diarizationFailure = DiarizationFailure()
        defer {
            if let diarizer { resources.unregister(diarizer) }
        }

        let info = source.stream.info

        let checkpoints: (any ChunkCheckpoints)? =
            explicitCheckpoints
            ?? cache.flatMap { cache in
                ChunkCache.key(path: path, configuration: configuration).map { cache.entry(forKey: $0) }
            }
        let reconciliation = ReconciliationService()
        resources.register(reconciliation)
        defer { resources.unregister(reconciliation) }

        let supervisor = ResourceSupervisor(limit: resources.limit, keepSamples: memoryTrace != nil)
        let manager = resources
        supervisor.onHighUsage { _ in await manager.cleanup() }
        supervisor.onHighUsage { _ in await manager.throttle() }

        var logger = self.logger
        logger[metadataKey: "file.path"] = "\(path)"
        logger.debug(
            "Transcription started",
            metadata: [
                "audio.format": "\(info.formatName)", "audio.rate": "\(info.sampleRate)",
                "audio.channels": "\(info.channels)", "audio.duration": "\(audioTotal)",
                "audio.decoder": "\(source.child.map { "ffmpeg (pid \($0.pid))" } ?? "libsndfile")",
                "memory.limit": "\(resources.limit.map(\.description) ?? "none")",
                "memory.workers_allowed": "\(workers)", "workers.requested": "\(configuration.maxWorkers)",
            ])

        var done = TranscriptionProgress(
            chunksDone: 0, chunksTotal: max(1, Int((audioTotal / plan.chunkSize).rounded(.up))),
            audioDone: 0, audioTotal: audioTotal, elapsed: 0)
        var chunkCount = 0
        var guards: [GuardCounts?] = []
        var languages: [Int: String] = [:]
        let run = DecodingRun()

        try await withThrowingTaskGroup(of: FinishedChunk?.self) { group in
            group.addTask {
                await supervisor.run()
                return nil
            }
            // Chunks decode as runs allow: one run per worker, a run's chunks in order.
            var runs = ContextRuns(length: runLength, slots: workers, fileOffset: configuration.startTime)
            var inFlight = 0
            let service = transcription
            let offset = configuration.startTime
            func start(_ chunks: [Chunk]) {
                for chunk in chunks {
                    group.addTask {
                        try await Self.process(
                            chunk, service: service, run: run, reconciliation: reconciliation, checkpoints: checkpoints,
                            fileOffset: offset, diarizer: diarizer, channelLevels: channelLevels,
                            diarizationFailure: diarizationFailure)
                    }
                    inFlight += 1
                }
            }
            func collect(_ finished: FinishedChunk?) {
                guard let finished else { return }
                let report = finished.report
                inFlight -= 1
                done.chunksDone += 1
                done.audioDone += report.end - report.start
                done.elapsed = (clock.now - started).seconds
                done.chunk = report
                guards.append(report.guards)
                if let language = report.language { languages[report.index] = language }
                progress?(done)
                start(runs.finished(report.index, words: finished.words))
            }
            while let chunk = try await source.next() {
                try Task.checkCancellation()
                chunkCount += 1
                done.chunksTotal = max(done.chunksTotal, chunkCount)
                // Keep no more chunks in hand than the open runs hold.
                while !runs.accepts(chunk.index) {
                    collect(try await group.next() ?? nil)
                }
                start(runs.add(chunk))
            }
            // Every chunk has been read: the total is known now, not estimated.
            done.chunksTotal = chunkCount
            runs.endOfInput()
            while inFlight > 0 {
                collect(try await group.next() ?? nil)
            }
            group.cancelAll()
        }

        guard chunkCount > 0 else {
            throw HearingAIError(.noAudio, path: path, reason: "no audio data in the selected range")
        }
        if done.chunksDone == chunkCount, done.chunk != nil {
            // A last report with exact totals, in case the last chunk finished before the
            // end of the file was read.
            done.chunk = nil
            done.audioTotal = max(done.audioTotal, done.audioDone)
            progress?(done)
        }
        // Who spoke when. A failure here costs the labels, never the transcript.
        var turns: [SpeakerTurn] = []
        var diarization: DiarizationSummary?
        if let diarizer {
            do {
                if let channelLevels, channelLevels.areDistinct {
                    let names = configuration.diarization.channelNames
                    let offset = configuration.startTime
                    let (channelTurns, seconds) = try await source.thread.run {
                        let clock = ContinuousClock()
                        let started = clock.now
                        let turns = ChannelDiarizer.turns(of: channelLevels, names: names, fileOffset: offset)
                        return (turns, (clock.now - started).seconds)
                    }
                    turns = channelTurns
                    diarization = DiarizationSummary(
                        speakers: Set(turns.map(\.speaker)).count, seconds: diarizer.seconds + seconds, method: "channels")
                } else {
                    if let failure = diarizationFailure.error { throw failure }
                    turns = try await diarizer.finish()
                    let note = configuration.diarization.speakerPerChannel ? Self.voiceFallbackNote(info: info, levels: channelLevels) : nil
                    if let note {
                        // A mono file is no surprise; dual mono may be.
                        logger.log(
                            level: info.channels <= 1 ? .notice : .warning, "Speakers found by voice, not by channel",
                            metadata: ["reason": "\(note)"])
                    }
                    diarization = DiarizationSummary(speakers: Set(turns.map(\.speaker)).count, seconds: diarizer.seconds, note: note)
                }
            } catch {
                diarization = DiarizationSummary(speakers: 0, seconds: diarizer.seconds, error: "\(error)")
                logger.warning("Diarization failed; the transcript has no speaker labels", metadata: ["error": "\(error)"])
            }
            await diarizer.close()
        }
        let segments = reconciliation.segments(segmenter: Segmenter(pause: configuration.segmentPause), turns: turns)
        await reconciliation.close()
        let duration = Double(source.stream.samplesProduced) / Double(ChunkPlan.sampleRate)
        let total = (clock.now - started).seconds
        let loadSeconds = await transcription.pool.loadSeconds - loadBefore
        // HearingAI's own peak plus FFmpeg's (reaped by now: the stream has ended), an upper
        // bound of the process tree's; the supervisor's samples count both as they run.
        let childPeak = source.child?.peakResidentBytes ?? 0
        let peak = max(SystemInfo.peakResidentBytes() + childPeak, supervisor.peakResidentBytes)
        memoryTrace?(supervisor.samples)

        var metadata = TranscriptMetadata(
            source: path,
            duration: duration,
            startTime: configuration.startTime,
            inputFormat: info.formatName,
            inputSampleRate: info.sampleRate,
            inputChannels: info.channels,
            engine: engine.name,
            model: engine.modelDescription,
            chunking: .init(
                chunkSize: plan.chunkSize, overlap: plan.overlap, boundaryWindow: plan.boundaryWindow, chunks: chunkCount,
                maxWorkers: configuration.maxWorkers),
            timings: .init(total: total, engineLoad: loadSeconds, speed: total > 0 ? duration / total : 0),
            memory: .init(
                limitMB: resources.limit?.megabytes, limitSource: resources.limit?.source.description,
                peakRSSMB: (Double(peak) / 1_048_576 * 10).rounded() / 10, workersAllowed: workers,
                ffmpegPeakRSSMB: source.child.map { _ in (Double(childPeak) / 1_048_576 * 10).rounded() / 10 }),
            diarization: diarization
        )
        metadata.wordTimes = TranscriptMetadata.WordTimes(segments.flatMap(\.words))
        metadata.guards = GuardCounts.total(guards)
        metadata.language = languages.min { $0.key < $1.key }?.value
        logger.debug(
            "Transcription finished",
            metadata: [
                "chunks": "\(chunkCount)", "seconds": "\(total)",
                "memory.peak_mb": "\(metadata.memory.peakRSSMB)", "memory.interventions": "\(supervisor.interventions)",
                "speakers": "\(diarization.map { String($0.speakers) } ?? "off")",
            ])
        return Transcript(segments: segments, speakerTurns: turns, metadata: metadata)
    }

    /// Removes the checkpoints of a finished run of `path` with `configuration`.
    public func discardCheckpoints(for path: String, configuration: PipelineConfiguration) {
        guard let cache, let key = ChunkCache.key(path: path, configuration: configuration) else { return }
        cache.entry(forKey: key).remove()
    }

    /// Why a run asked for a speaker per channel had its speakers found by voice instead.
    static func voiceFallbackNote(info: AudioFormatInfo, levels: ChannelLevels?) -> String {
        if let levels, levels.isDualMono == true {
            let difference = levels.differenceDecibels.map { String(format: "%.0f", $0) } ?? "?"
            return "the two channels carry the same signal (dual mono: L-R is \(difference) dB under L+R), so they are one channel"
        }
        if info.channels <= 1 { return "the file has one channel" }
        return "the decoder did not report the file's channels, so they could not be told apart"
    }

    /// Decodes one chunk (or takes it from the checkpoints) and reconciles its words.
    private static func process(
        _ chunk: Chunk, service: TranscriptionService, run: DecodingRun, reconciliation: ReconciliationService,
        checkpoints: (any ChunkCheckpoints)?, fileOffset: Double,
        diarizer: DiarizationService?, channelLevels: ChannelLevels?, diarizationFailure: DiarizationFailure
    ) async throws -> FinishedChunk {
        // Diarization needs every chunk's audio, checkpointed or not. It runs on its own thread
        // while the chunk decodes; its failure is kept for the end of the run and does not
        // stop transcription. Once a file's channels are known to differ, they tell the
        // speakers apart, and the voice diarizer is spared the rest.
        async let diarized: Void = {
            guard let diarizer, diarizationFailure.error == nil, channelLevels?.areDistinct != true else { return }
            do {
                try await diarizer.analyze(chunk, fileOffset: fileOffset)
            } catch {
                diarizationFailure.record(error)
            }
        }()
        let owned = chunk.ownedSeconds
        let words: [Word]
        let guards: GuardCounts?
        let language: String?
        var seconds = 0.0
        let cached = await checkpoints?.load(chunk: chunk.index)
        if let cached {
            words = cached.words
            guards = cached.guards
            language = cached.language
        } else {
            try Task.checkCancellation()
            let clock = ContinuousClock()
            let started = clock.now
            let raw = try await service.decode(chunk, run: run)
            let elapsed = clock.now - started
            seconds = elapsed.seconds
            CoreMetrics.Timer(label: MetricName.chunkDuration).recordNanoseconds(Int64(seconds * 1e9))
            words = ReconciliationService.ownedWords(raw.words, of: chunk, fileOffset: fileOffset)
            guards = raw.guards
            language = raw.language
            try? await checkpoints?.store(DecodedChunk(words: words, guards: guards, language: language), chunk: chunk.index)
        }
        reconciliation.add(words, chunk: chunk.index)
        await diarized
        let report = ChunkReport(
            index: chunk.index, start: fileOffset + owned.lowerBound, end: fileOffset + owned.upperBound,
            words: words.count, decodeSeconds: seconds, cached: cached != nil, guards: guards, language: language)
        return FinishedChunk(report: report, words: words)
    }

    /// A chunk's report and the words it kept (on the file's clock), which the next chunk of
    /// its context run is told.
    private struct FinishedChunk: Sendable {
        var report: ChunkReport
        var words: [Word]
    }

    /// Frees every resource the orchestrator created.
    public func close() async {
        await transcription.close()
        resources.unregister(transcription)
    }
}
