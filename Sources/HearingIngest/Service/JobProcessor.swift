import Foundation
import HearingAI
import Logging

/// Processes claimed jobs one at a time through the chunked orchestrator, writes outputs
/// atomically to the outbox, and moves sources to processed/ or failed/.
///
/// Order matters for "never lost, never twice": the outbox stem is recorded before outputs are
/// written (a retry rewrites the same files), the job is marked done before its source is
/// moved (startup recovery finishes a move a crash interrupted), and the source is removed
/// from the work area last.
final class JobProcessor: Sendable {
    let directories: IngestDirectories
    let queue: JobQueue
    let configuration: IngestConfiguration
    let orchestrator: WorkflowOrchestrator
    let owner: String
    let logger: Logger
    let notifier: SystemdNotifier

    init(directories: IngestDirectories, queue: JobQueue, configuration: IngestConfiguration,
         orchestrator: WorkflowOrchestrator, owner: String, logger: Logger, notifier: SystemdNotifier) {
        self.directories = directories
        self.queue = queue
        self.configuration = configuration
        self.orchestrator = orchestrator
        self.owner = owner
        self.logger = logger
        self.notifier = notifier
    }

    /// The key of a transcript: the content's hash and every parameter that shapes it.
    func resultKey(for job: Job) -> String {
        job.sha256 + ":" + ChunkCache.parametersKey(options: configuration.options, engine: orchestrator.engine)
    }

    /// Processes `job`, which this processor has claimed. On cancellation (graceful shutdown)
    /// the chunks in flight are checkpointed and the lease is given back.
    func process(_ job: Job) async {
        guard let id = job.id else { return }
        var logger = self.logger
        logger[metadataKey: "job.id"] = "\(id)"
        logger[metadataKey: "file.name"] = "\(job.fileName)"

        if job.attempts > configuration.maxAttempts {
            // Attempts are counted at claim, so a file that crashes the service is counted
            // too: quarantine it instead of crash-looping.
            fail(job, reason: "gave up after \(job.attempts - 1) attempts; last error: \(job.lastError ?? "the service stopped while transcribing it")", logger: logger)
            return
        }
        notifier.status("transcribing \(job.fileName)")
        logger.info("Transcription started", metadata: ["job.attempt": "\(job.attempts)"])
        do {
            let transcript = try await transcribe(job, id: id, logger: logger)
            try deliver(transcript, job: job, id: id, logger: logger)
        } catch is CancellationError {
            try? queue.release(id, owner: owner)
            logger.info("Transcription interrupted by shutdown; chunks done are checkpointed")
        } catch let error as HearingAIError where error.code == .cancelled {
            try? queue.release(id, owner: owner)
            logger.info("Transcription interrupted by shutdown; chunks done are checkpointed")
        } catch {
            let reason = Self.reason(error)
            if Self.isPermanent(error) || job.attempts >= configuration.maxAttempts {
                fail(job, reason: reason, logger: logger)
            } else {
                let delay = Self.backoff(attempt: job.attempts)
                try? queue.retryLater(id, reason: reason, notBefore: Date().addingTimeInterval(delay))
                logger.warning("Transcription failed; will retry", metadata: ["error": "\(reason)", "retry.in_seconds": "\(Int(delay))"])
            }
        }
    }

    private func transcribe(_ job: Job, id: Int64, logger: Logger) async throws -> Transcript {
        let key = resultKey(for: job)
        if var stored = try queue.result(key) {
            logger.info("Same content transcribed before; reusing its result", metadata: ["file.sha256": "\(job.sha256)"])
            stored.metadata.source = job.fileName.description
            return stored
        }
        let path = directories.sourcePath(workDir: job.workDir)
        let checkpoints = queue.checkpoints(resultKey: key)
        let queue = self.queue
        let owner = self.owner
        let progressLogger = logger
        let transcript = try await withThrowingTaskGroup(of: Transcript?.self) { group in
            // The lease's heartbeat, while the file runs.
            group.addTask {
                while !Task.isCancelled {
                    try? queue.heartbeat(id, owner: owner)
                    try? await Task.sleep(for: .seconds(5))
                }
                return nil
            }
            group.addTask { [orchestrator, configuration] in
                try await orchestrator.transcribe(path, options: configuration.options, checkpoints: checkpoints) { progress in
                    try? queue.heartbeat(id, owner: owner, progress: progress)
                    if let chunk = progress.chunk {
                        progressLogger.debug("Chunk done", metadata: [
                            "chunk.index": "\(chunk.index)", "chunk.words": "\(chunk.words)",
                            "chunk.checkpoint": "\(chunk.cached)", "progress": "\(progress.chunksDone)/\(progress.chunksTotal)",
                        ])
                    }
                }
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let transcript = result { return transcript }
            }
            throw CancellationError()
        }
        var result = transcript
        result.metadata.source = job.fileName.description
        try queue.storeResult(result, resultKey: key)
        return result
    }

    /// Writes the outputs, marks the job done, moves the source to processed/.
    private func deliver(_ transcript: Transcript, job: Job, id: Int64, logger: Logger) throws {
        let rendered = try configuration.formats.map { ($0, try transcript.rendered(as: $0)) }
        let stem = try job.outputStem.map { FileName(bytes: Array($0)) } ?? chooseStem(for: job.fileName)
        try queue.setOutputStem(id, stem: stem)
        for (format, text) in rendered {
            // Replacing is safe: this stem is recorded as this job's, so an existing file
            // with it is this job's own output from an interrupted attempt.
            try directories.outbox.writeAtomically(Data(text.utf8), as: stem.appending("." + format.fileExtension), replace: true)
        }
        try queue.markDone(id)
        try finishMove(job, to: directories.processed)
        logger.info("Transcript written", metadata: [
            "outbox.stem": "\(stem)", "audio.seconds": "\(transcript.metadata.duration)", "words": "\(transcript.words.count)",
        ])
    }

    /// The outbox stem for `name`: its own stem, or `stem (N)` if any output name is taken;
    /// shortened where needed so that every output name fits in NAME_MAX.
    func chooseStem(for name: FileName) throws -> FileName {
        let longestSuffix = 1 + (configuration.formats.map(\.fileExtension.utf8.count).max() ?? 4)
        for number in 0..<10_000 {
            let candidate = Directory.variant(of: name.stem, number: number, reserving: longestSuffix)
            let taken = configuration.formats.contains { directories.outbox.contains(candidate.appending("." + $0.fileExtension)) }
            if !taken { return candidate }
        }
        throw IngestError("\(directories.outbox.path): no free output name for \(name)")
    }

    /// Moves a finished job's source from the work area to `destination` under its original
    /// name (or a distinct variant), records the name, and removes the job's work directory.
    @discardableResult
    func finishMove(_ job: Job, to destination: Directory, companion: ((FileName) -> FileName)? = nil) throws -> FileName? {
        let jobDir = FileName(job.workDir)
        guard let jobDirectory = try? Directory(path: "\(directories.work.path)/\(job.workDir)") else { return nil }
        var finalName: FileName?
        if jobDirectory.contains(IngestDirectories.sourceName) {
            finalName = try jobDirectory.moveKeepingName(IngestDirectories.sourceName, to: destination, preferred: job.fileName, companion: companion)
            try queue.setFinalName(job.id!, finalName!)
        }
        jobDirectory.remove(IngestDirectories.nameFile, directory: false)
        directories.work.remove(jobDir, directory: true)
        directories.work.sync()
        return finalName
    }

    /// Marks the job failed and moves its source to failed/ with `NAME.error.json`.
    func fail(_ job: Job, reason: String, logger: Logger) {
        guard let id = job.id else { return }
        do {
            try queue.markFailed(id, reason: reason)
            if let finalName = try finishMove(job, to: directories.failed, companion: Intake.errorFileName) {
                try Intake.writeErrorFile(in: directories.failed, for: finalName, original: job.fileName, reason: reason, attempts: job.attempts, jobID: id)
            }
            logger.warning("Transcription failed", metadata: ["error": "\(reason)", "job.attempts": "\(job.attempts)"])
        } catch {
            logger.error("Could not move a failed file", metadata: ["error": "\(error)"])
        }
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? HearingAIError {
            // The path is the work copy's; the job already names the file.
            return error.reason
        }
        return "\(error)"
    }

    /// Bad input fails at once; everything else (disk full, a failing engine) is retried.
    static func isPermanent(_ error: any Error) -> Bool {
        (error as? HearingAIError)?.code.isPermanent ?? false
    }

    /// 10 s, 20 s, 40 s, ... up to 10 minutes, with ±20% jitter.
    static func backoff(attempt: Int) -> TimeInterval {
        retryBackoff.delay(attempt: attempt)
    }

    static let retryBackoff = Backoff(base: 10, factor: 2, cap: 600, jitter: 0.8...1.2)
}
