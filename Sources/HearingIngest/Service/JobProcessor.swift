import Foundation
import HearingAI
import Logging
import ServiceLifecycle
import Synchronization

/// The service that transcribes: it claims jobs and takes each through the chunked
/// orchestrator (several short files at once, as the memory budget allows), writes outputs atomically to the outbox, moves sources to processed/ or
/// failed/, and calls cleanup between files.
///
/// Cleanup between files keeps the decoders loaded: the next file needs them, and loading
/// PocketSphinx's models again would cost about 0.4 s a file. They are released when the
/// queue has had no work for `idle_release_seconds`, when the memory supervisor asks for room
/// (its cleanup frees idle decoders), and on shutdown.
///
/// Idle, it waits for the intake's doorbell, for the queue's next due time (a retry's
/// backoff), or for the idle release, whichever comes first; it does not tick. On graceful shutdown it stops claiming,
/// lets the chunks in flight finish and be checkpointed, gives the lease back, and returns.
///
/// Order matters for "never lost, never twice": the outbox stem is recorded before outputs are
/// written (a retry rewrites the same files), the job is marked done before its source is
/// moved (startup recovery finishes a move a crash interrupted), and the source is removed
/// from the work area last.
final class JobProcessor: Service, Sendable {
    let directories: IngestDirectories
    let queue: any JobQueue
    let configuration: IngestConfiguration
    let orchestrator: WorkflowOrchestrator
    let resources: ResourceManager
    let owner: String
    let logger: Logger
    /// Where `STATUS=` activity is reported, and whether the inbox (with the work area) is there.
    let health: ServiceHealth
    let doorbell: Doorbell
    /// Rung when a job's end has written webhook events, to wake their delivery.
    let webhookBell: Doorbell
    /// Out-of-space waits in a row, for their backoff; reset by a delivery.
    private let spaceWaits = Mutex(0)
    /// Files being transcribed now.
    private let inFlight = Mutex(0)
    /// Outbox stems chosen by files still writing them: two files with the same stem running
    /// at once must not both take it.
    private let stemsInUse = Mutex<Set<FileName>>([])

    init(
        directories: IngestDirectories, queue: any JobQueue, configuration: IngestConfiguration,
        orchestrator: WorkflowOrchestrator, resources: ResourceManager, owner: String, logger: Logger,
        health: ServiceHealth, doorbell: Doorbell, webhookBell: Doorbell = Doorbell()
    ) {
        self.directories = directories
        self.queue = queue
        self.configuration = configuration
        self.orchestrator = orchestrator
        self.resources = resources
        self.owner = owner
        self.logger = logger
        self.health = health
        self.doorbell = doorbell
        self.webhookBell = webhookBell
    }

    /// Files transcribing at once: up to the pipeline's `max_workers`, so that short files,
    /// one chunk each, keep every worker busy. The orchestrator lets a file in beside others
    /// only when it fits the memory budget, so under a tight limit files run one at a time.
    var filesAtOnce: Int { max(1, configuration.pipeline.maxWorkers) }

    /// Claims and processes jobs until graceful shutdown; then frees the decoders.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                // When the queue last ran out of work with decoders kept loaded; nil when none are.
                var idleSince: ContinuousClock.Instant?
                while !Task.isCancelled {
                    guard self.health.inboxAvailable else {
                        // The work area is inside the inbox: while the inbox is missing or being
                        // replaced, a queued job's source cannot be found. The intake rings when
                        // it is back.
                        await self.doorbell.wait(for: .seconds(1))
                        continue
                    }
                    if self.inFlight.withLock({ $0 }) >= self.filesAtOnce {
                        // A file that finishes rings.
                        await self.doorbell.wait(for: nil)
                        continue
                    }
                    let job: Job?
                    let claimStarted = ContinuousClock.now
                    do {
                        job = try await self.queue.claim(owner: self.owner)
                    } catch {
                        self.logger.error("Could not claim a job", metadata: ["error": "\(error)"])
                        await self.doorbell.wait(for: .seconds(1))
                        continue
                    }
                    guard let job else {
                        if self.inFlight.withLock({ $0 }) > 0 {
                            // Files are running: their decoders stay; wait for new work, a
                            // retry falling due, or a file to finish.
                            _ = await self.waitForWork(releasingAt: nil)
                            continue
                        }
                        let since = idleSince ?? .now
                        idleSince = since
                        if await self.waitForWork(releasingAt: since + self.configuration.idleRelease) {
                            await self.releaseDecoders(idleFor: since.duration(to: .now))
                            idleSince = nil
                        }
                        continue
                    }
                    idleSince = nil
                    ServiceMetrics.claimed(job)
                    self.inFlight.withLock { $0 += 1 }
                    group.addTask {
                        var timings = FileTimings()
                        timings.record("claim", since: claimStarted)
                        await self.process(job, timings: &timings)
                        let freed = await timings.measure("cleanup") { await self.resources.cleanup(keepingWarm: true) }
                        self.logger.debug("Cleanup between files", metadata: ["memory.freed_mb": "\(String(format: "%.1f", freed))"])
                        self.logger.debug("File timings", metadata: timings.metadata(job: job))
                        let idle = self.inFlight.withLock { count in
                            count -= 1
                            return count == 0
                        }
                        // While a job waits for disk space, systemd's status line keeps saying so.
                        if idle, self.spaceWaits.withLock({ $0 }) == 0 {
                            self.health.setActivity("watching \(self.directories.inboxPath)")
                        }
                        self.doorbell.ring()
                    }
                }
            }
        }
        await orchestrator.close()
    }

    /// Sleeps until the intake rings (or a file finishes), the next queued job falls due, or —
    /// with decoders loaded and `releaseAt` given — `releaseAt`. Returns whether it is time to
    /// release the decoders.
    private func waitForWork(releasingAt releaseAt: ContinuousClock.Instant?) async -> Bool {
        var warm = false
        if releaseAt != nil { warm = await orchestrator.transcription.liveDecoders > 0 }
        var timeout: Duration? = warm ? releaseAt.map { ContinuousClock.now.duration(to: $0) } : nil
        if let due = (try? await queue.nextDue()) ?? nil {
            let seconds = due.timeIntervalSinceNow
            guard seconds > 0 else { return false }
            let untilDue = Duration.milliseconds(Int64(seconds * 1000) + 1)
            timeout = min(timeout ?? untilDue, untilDue)
        }
        if let timeout, timeout > .zero {
            await doorbell.wait(for: timeout)
        } else if timeout == nil {
            await doorbell.wait(for: nil)
        }
        guard warm, let releaseAt else { return false }
        return ContinuousClock.now >= releaseAt && !Task.isCancelled
    }

    /// Frees the decoders kept loaded between files, once the queue has been idle long enough.
    private func releaseDecoders(idleFor idle: Duration) async {
        let decoders = await orchestrator.transcription.liveDecoders
        let freed = await resources.cleanup()
        logger.info(
            "Queue idle; decoders released",
            metadata: [
                "decoders": "\(decoders)", "idle.seconds": "\(String(format: "%.1f", idle.seconds))",
                "memory.freed_mb": "\(String(format: "%.1f", freed))",
            ])
    }

    /// The key of a transcript: the content's hash and the configuration's fingerprint.
    func resultKey(for job: Job) -> String {
        configuration.resultKey(for: job)
    }

    /// Processes `job`, which this processor has claimed. On cancellation (graceful shutdown)
    /// the chunks in flight are checkpointed and the lease is given back.
    /// Where its time goes is recorded in `timings`.
    func process(_ job: Job, timings: inout FileTimings) async {
        guard let id = job.id, let lease = job.lease else { return }
        var logger = self.logger
        logger[metadataKey: "job.id"] = "\(id)"
        logger[metadataKey: "file.name"] = "\(job.fileName)"

        guard directories.hasSource(workDir: job.workDir) else {
            // Removed from outside (the work area deleted with the inbox, or by hand): no
            // retry can bring it back. Failed at once, with a reason `jobs show` gives.
            let path = directories.sourcePath(workDir: job.workDir)
            let reason =
                "the source was removed from the work area before it was transcribed (\(path) is missing); nothing to transcribe or move"
            do {
                try await queue.markFailed(
                    lease, reason: reason, webhooks: webhookEvents(.jobFailed, job: job, error: reason, logger: logger), now: Date())
                ServiceMetrics.finished(.failed)
                webhookBell.ring()
                logger.error("Queued file's source is missing from the work area; job failed", metadata: ["file.path": "\(path)"])
            } catch {
                logger.error("Could not mark a job failed", metadata: ["error": "\(error)"])
            }
            directories.work.remove(FileName(job.workDir + "/" + IngestDirectories.nameFile.description), directory: false)
            directories.work.remove(FileName(job.workDir), directory: true)
            return
        }
        if job.cancelRequested {
            await fail(job, lease: lease, reason: Self.cancelledReason, logger: logger)
            return
        }
        if job.attempts > configuration.maxAttempts {
            // Attempts are counted at claim, so a file that crashes the service is counted
            // too: quarantine it instead of crash-looping.
            await fail(
                job, lease: lease,
                reason:
                    "gave up after \(job.attempts - 1) attempts; last error: \(job.lastError ?? "the service stopped while transcribing it")",
                logger: logger)
            return
        }
        health.setActivity("transcribing \(job.fileName)")
        logger.info("Transcription started", metadata: ["job.attempt": "\(job.attempts)"])
        do {
            let transcript = try await transcribe(job, lease: lease, logger: logger, timings: &timings)
            try await deliver(transcript, job: job, lease: lease, logger: logger, timings: &timings)
        } catch {
            let error = HearingAIError(error)
            if error.code == .leaseLost {
                // Another node holds the job now (this one was paused, cut off or too slow to
                // heartbeat): whatever is written from here is refused, so nothing more is.
                ServiceMetrics.leaseLost()
                logger.warning("Lease lost; abandoning the job to the node that holds it now", metadata: ["error": "\(error.reason)"])
            } else if error.code == .cancelled {
                try? await queue.release(lease)
                logger.info("Transcription interrupted by shutdown; chunks done are checkpointed")
            } else if error.isOutOfSpace {
                await waitForSpace(job, lease: lease, error: error, logger: logger)
            } else if error.code == .queueFailed {
                await waitForQueue(lease: lease, error: error, logger: logger)
            } else if error.isPermanent || job.attempts >= configuration.maxAttempts {
                await fail(job, lease: lease, reason: error.reason, logger: logger)
            } else {
                let delay = Self.backoff(attempt: job.attempts)
                try? await queue.retryLater(lease, reason: error.reason, notBefore: Date().addingTimeInterval(delay))
                ServiceMetrics.retried()
                logger.warning(
                    "Transcription failed; will retry", metadata: ["error": "\(error.reason)", "retry.in_seconds": "\(Int(delay))"])
            }
        }
    }

    private func transcribe(_ job: Job, lease: Lease, logger: Logger, timings: inout FileTimings) async throws -> Transcript {
        let key = resultKey(for: job)
        let queue = self.queue
        let found: Transcript?
        do {
            found = try await timings.measure("lookup", { try await queue.result(key) })
        } catch is DecodingError {
            // Garbage in a stored result is the store's fault, not the audio's: transcribe
            // again; storing the new result replaces it.
            logger.warning(
                "Stored result does not decode; discarding it and transcribing again", metadata: ["file.sha256": "\(job.sha256)"])
            found = nil
        }
        if var stored = found {
            logger.info("Same content transcribed before; reusing its result", metadata: ["file.sha256": "\(job.sha256)"])
            stored.metadata.source = job.fileName.description
            return stored
        }
        let path = directories.sourcePath(workDir: job.workDir)
        let checkpoints = queue.checkpoints(resultKey: key)
        let progressLogger = logger
        let decodeStarted = ContinuousClock.now
        // Progress reaches the queue through a stream that keeps only the newest report, so a
        // slow database never holds up decoding.
        let (reports, reporter) = AsyncStream.makeStream(of: TranscriptionProgress.self, bufferingPolicy: .bufferingNewest(1))
        let transcript = try await withThrowingTaskGroup(of: Transcript?.self) { group in
            // The lease's heartbeat while the file runs, and its progress as chunks finish.
            group.addTask { [leaseDuration = configuration.leaseDuration] in
                var lastBeat = ContinuousClock.now
                while !Task.isCancelled {
                    do {
                        try await queue.heartbeat(lease)
                        lastBeat = .now
                    } catch let error as HearingAIError where error.code == .leaseLost {
                        throw error
                    } catch {
                        // A node that cannot reach the queue for half its lease gives the job up
                        // before another node takes it back, so two never transcribe it at once.
                        let silent = lastBeat.duration(to: .now)
                        if silent > leaseDuration / 2 {
                            throw HearingAIError(
                                .leaseLost,
                                reason:
                                    "job \(lease.jobID): no heartbeat reached the queue for \(Int(silent.seconds)) s (half the lease); giving the job up (\(error))"
                            )
                        }
                    }
                    // A client's cancellation ends the file here; the chunks done stay
                    // checkpointed for the same audio sent again.
                    if (try? await queue.job(lease.jobID))?.cancelRequested == true {
                        throw HearingAIError(.jobCancelled, reason: Self.cancelledReason)
                    }
                    try? await Task.sleep(for: Self.heartbeatInterval)
                }
                return nil
            }
            group.addTask {
                for await progress in reports {
                    try? await queue.heartbeat(lease, progress: progress)
                }
                return nil
            }
            group.addTask { [orchestrator, configuration] in
                defer { reporter.finish() }
                return try await orchestrator.transcribe(path, configuration: configuration.pipeline, checkpoints: checkpoints) {
                    progress in
                    reporter.yield(progress)
                    if let chunk = progress.chunk {
                        var metadata: Logger.Metadata = [
                            "chunk.index": "\(chunk.index)", "chunk.words": "\(chunk.words)",
                            "chunk.checkpoint": "\(chunk.cached)", "progress": "\(progress.chunksDone)/\(progress.chunksTotal)",
                        ]
                        if let note = chunk.guardNote { metadata["chunk.guards"] = "\(note)" }
                        progressLogger.debug("Chunk done", metadata: metadata)
                    }
                }
            }
            defer {
                reporter.finish()
                group.cancelAll()
            }
            while let result = try await group.next() {
                if let transcript = result { return transcript }
            }
            throw CancellationError()
        }
        timings.record("decode", since: decodeStarted)
        timings.engineLoad = transcript.metadata.timings.engineLoad
        var result = transcript
        result.metadata.source = job.fileName.description
        try await timings.measure("store") { try await queue.storeResult(result, resultKey: key) }
        return result
    }

    /// Writes the outputs, marks the job done, moves the source to processed/.
    private func deliver(_ transcript: Transcript, job: Job, lease: Lease, logger: Logger, timings: inout FileTimings) async throws {
        let formats = configuration.pipeline.formats
        let rendered = try timings.measure("render") {
            try formats.map { ($0, try transcript.rendered(as: $0, subtitles: configuration.pipeline.subtitleStyle)) }
        }
        let stem = try reserveStem(for: job)
        defer { stemsInUse.withLock { _ = $0.remove(stem) } }
        let queue = self.queue
        try await timings.measure("stem") { try await queue.setOutputStem(lease, stem: stem) }
        let outbox = directories.outbox
        // All or nothing: a full disk must not leave half a set. Replacing is safe: this stem
        // is recorded as this job's, so an existing file with it is this job's own output
        // from an interrupted attempt.
        try timings.measure("write") {
            try outbox.writeAll(rendered.map { (stem.appending("." + $0.0.fileExtension), Data($0.1.utf8)) }, replace: true)
        }
        spaceWaits.withLock { $0 = 0 }
        let webhooks = webhookEvents(
            .jobCompleted, job: job, outputs: rendered.map { stem.appending("." + $0.0.fileExtension).description },
            audioSeconds: transcript.metadata.duration, logger: logger)
        try await timings.measure("done") { try await queue.markDone(lease, webhooks: webhooks, now: Date()) }
        ServiceMetrics.succeeded(audioSeconds: transcript.metadata.duration)
        if !webhooks.isEmpty { webhookBell.ring() }
        do {
            let moved = try await timings.measure("move") { try await self.finishMove(job, to: self.directories.processed) }
            if moved == nil {
                logger.warning(
                    "The source was gone from the work area; nothing to move to processed/",
                    metadata: ["file.path": "\(directories.sourcePath(workDir: job.workDir))"])
            }
        } catch {
            // The job is done and its outputs are in place; only the source's move is left,
            // and startup recovery finishes it. It is not the file's failure.
            logger.error("Could not move the source to processed/; the next start finishes the move", metadata: ["error": "\(error)"])
        }
        let decodersCreated = await orchestrator.transcription.decodersCreated
        logger.info(
            "Transcript written",
            metadata: [
                "outbox.stem": "\(stem)", "audio.seconds": "\(transcript.metadata.duration)", "words": "\(transcript.words.count)",
                "engine.load_seconds": "\(String(format: "%.2f", transcript.metadata.timings.engineLoad))",
                "decoders.created": "\(decodersCreated)",
            ])
    }

    /// The job's outbox stem, held until its outputs are written (release it from
    /// `stemsInUse`): the one recorded by an earlier attempt, or a new one from
    /// ``chooseStem(for:avoiding:)`` that no file running beside it holds.
    private func reserveStem(for job: Job) throws -> FileName {
        try stemsInUse.withLock { inUse in
            let stem = try job.outputStem.map { FileName(bytes: Array($0)) } ?? chooseStem(for: job.fileName, avoiding: inUse)
            inUse.insert(stem)
            return stem
        }
    }

    /// The outbox stem for `name`: its own stem, or `stem (N)` if any output name is taken
    /// or the stem is in `avoiding`; shortened where needed so that every output name fits in
    /// NAME_MAX.
    func chooseStem(for name: FileName, avoiding: Set<FileName> = []) throws -> FileName {
        let formats = configuration.pipeline.formats
        let longestSuffix = 1 + (formats.map(\.fileExtension.utf8.count).max() ?? 4)
        for number in 0..<10_000 {
            let candidate = Directory.variant(of: name.stem, number: number, reserving: longestSuffix)
            let taken =
                avoiding.contains(candidate)
                || formats.contains { directories.outbox.contains(candidate.appending("." + $0.fileExtension)) }
            if !taken { return candidate }
        }
        throw HearingAIError(.outputFailed, path: directories.outbox.path, reason: "no free output name for \(name)")
    }

    /// Moves a finished job's source from the work area to `destination` under its original
    /// name (or a distinct variant), records the name, and removes the job's work directory.
    @discardableResult
    func finishMove(_ job: Job, to destination: Directory, companion: ((FileName) -> FileName)? = nil) async throws -> FileName? {
        let jobDir = FileName(job.workDir)
        // Through the work area's descriptor: if the inbox was moved away, its work area
        // still holds the source until the intake moves the job into the new one.
        guard let jobDirectory = try? directories.work.subdirectory(jobDir) else { return nil }
        var finalName: FileName?
        // Across filesystems the source is copied to this name in `destination` and unlinked
        // before it is renamed into place: one name per job, so a move a crash interrupted is
        // found and finished here.
        let staging = FileName(".hearingai-move-" + job.workDir)
        if jobDirectory.contains(IngestDirectories.sourceName) {
            finalName = try jobDirectory.moveKeepingName(
                IngestDirectories.sourceName, to: destination, preferred: job.fileName, companion: companion, staging: staging)
        } else if destination.contains(staging) {
            finalName = try destination.moveKeepingName(staging, to: destination, preferred: job.fileName, companion: companion)
        }
        if let finalName { try await queue.setFinalName(job.id!, finalName) }
        jobDirectory.remove(IngestDirectories.nameFile, directory: false)
        directories.work.remove(jobDir, directory: true)
        directories.work.sync()
        return finalName
    }

    /// Marks the job failed under `lease` and moves its source to failed/ with
    /// `NAME.error.json`.
    func fail(_ job: Job, lease: Lease, reason: String, logger: Logger) async {
        do {
            try await queue.markFailed(
                lease, reason: reason, webhooks: webhookEvents(.jobFailed, job: job, error: reason, logger: logger), now: Date())
            ServiceMetrics.finished(.failed)
            webhookBell.ring()
            logger.warning("Transcription failed", metadata: ["error": "\(reason)", "job.attempts": "\(job.attempts)"])
        } catch {
            logger.error("Could not mark a job failed", metadata: ["error": "\(error)"])
            return
        }
        await moveToFailed(job, reason: reason, logger: logger)
    }

    /// The outbox rows of `type` for `job`, one per configured receiver; none when no
    /// `webhook_url` is set. A body that cannot be encoded is logged, and the job still ends.
    func webhookEvents(
        _ type: WebhookEvent.EventType, job: Job, outputs: [String] = [], audioSeconds: Double? = nil, error: String? = nil,
        logger: Logger
    ) -> [WebhookDelivery] {
        guard !configuration.webhookURLs.isEmpty, let id = job.id else { return [] }
        let audio = audioSeconds ?? (job.audioTotal > 0 ? job.audioTotal : nil)
        let event = WebhookEvent(
            type: type, jobID: id, source: job.fileName.description, outputs: outputs, audioDurationSeconds: audio, error: error)
        do {
            return try event.deliveries(to: configuration.webhookURLs)
        } catch {
            logger.error("Could not encode a webhook event; none sent for this job", metadata: ["error": "\(error)"])
            return []
        }
    }

    /// Moves a failed job's source to failed/ with `NAME.error.json` (also startup recovery's
    /// way to finish a move a crash interrupted).
    func moveToFailed(_ job: Job, reason: String, logger: Logger) async {
        guard let id = job.id else { return }
        do {
            if let finalName = try await finishMove(job, to: directories.failed, companion: Intake.errorFileName) {
                try Intake.writeErrorFile(
                    in: directories.failed, for: finalName, original: job.fileName, reason: reason, attempts: job.attempts, jobID: id)
            }
        } catch {
            logger.error("Could not move a failed file", metadata: ["error": "\(error)"])
        }
    }

    /// Puts the job back in the queue until the disk has room again: a full disk is the
    /// machine's condition, not the file's, so the attempt is not counted and the source
    /// stays queued. Retried with backoff (5 s, 10 s, ... 5 min) until it fits.
    private func waitForSpace(_ job: Job, lease: Lease, error: HearingAIError, logger: Logger) async {
        let directory = error.path.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? "?"
        let reason = "disk full on \(directory)"
        let waits = spaceWaits.withLock { count in
            count += 1
            return count
        }
        let delay = Self.spaceBackoff.delay(attempt: waits)
        do {
            try await queue.waitForResource(lease, reason: reason, notBefore: Date().addingTimeInterval(delay))
        } catch {
            logger.error("Could not put a job back to wait for disk space", metadata: ["error": "\(error)"])
            return
        }
        health.setActivity("waiting: \(reason)")
        logger.warning(
            "Waiting for disk space; the file stays queued",
            metadata: [
                "directory": "\(directory)", "error": "\(error.reason)", "retry.in_seconds": "\(Int(delay))",
            ])
    }

    /// The queue's database failed under a running job (a server restart, a network cut):
    /// the machine's condition, not the file's, so the job goes back to the queue uncounted,
    /// as a full disk's does (its chunks done stay checkpointed). The database may still be
    /// away, so giving it back is tried every second for up to half the lease; if it does not
    /// come back in that time the lease expires and a node's sweep takes the job back (counted
    /// only if this attempt finished no new chunk).
    private func waitForQueue(lease: Lease, error: HearingAIError, logger: Logger) async {
        let deadline = ContinuousClock.now + configuration.leaseDuration / 2
        while true {
            do {
                try await queue.waitForResource(
                    lease, reason: "the queue's database failed", notBefore: Date().addingTimeInterval(1), now: Date())
                logger.warning(
                    "The queue's database failed under the job; it is back in the queue, the attempt not counted",
                    metadata: ["error": "\(error.reason)"])
                return
            } catch let lost as HearingAIError where lost.code == .leaseLost {
                ServiceMetrics.leaseLost()
                logger.warning("Lease lost; abandoning the job to the node that holds it now", metadata: ["error": "\(lost.reason)"])
                return
            } catch {
                guard ContinuousClock.now < deadline, !Task.isCancelled else {
                    logger.error(
                        "The queue's database is unreachable; the job returns to the queue when its lease expires",
                        metadata: ["error": "\(error)"])
                    return
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// 5 s, 10 s, 20 s, ... up to 5 minutes, with ±20% jitter.
    static let spaceBackoff = Backoff(base: 5, factor: 2, cap: 300, jitter: 0.8...1.2)

    /// 10 s, 20 s, 40 s, ... up to 10 minutes, with ±20% jitter.
    /// The reason a cancelled job fails with.
    static let cancelledReason = "cancelled at a client's request"
    /// How often a running job's lease is renewed and its cancellation checked.
    static let heartbeatInterval: Duration = .seconds(2)

    static func backoff(attempt: Int) -> TimeInterval {
        retryBackoff.delay(attempt: attempt)
    }

    static let retryBackoff = Backoff(base: 10, factor: 2, cap: 600, jitter: 0.8...1.2)
}
