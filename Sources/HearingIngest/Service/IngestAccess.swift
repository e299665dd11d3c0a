public import Foundation
public import HearingAI
public import Logging

/// What a service running beside the ingest service (the HTTP API) may use: the same
/// configuration, queue and uploads as the processor, and the service's health.
public struct IngestAccess: Sendable {
    /// The service's settings.
    public let configuration: IngestConfiguration
    /// The queue the processor claims from.
    public let queue: any JobQueue
    /// Where uploaded files are received and queued.
    public let uploads: Uploads
    /// Whether the service is ready (its inbox is in place).
    public let health: ServiceHealth
    /// The service's logger.
    public let logger: Logger
    let directories: IngestDirectories
    let doorbell: Doorbell

    /// Puts failed job `id` back in the queue (its source back from failed/), as
    /// `hearingai jobs retry` does, and wakes the processor.
    public func retry(_ id: Int64) async throws {
        try await RetryJob(queue: queue, directories: directories).retry(id)
        doorbell.ring()
    }

    /// Asks for job `id` to be cancelled (see ``JobQueue/requestCancel(_:now:)``) and wakes
    /// the processor, which fails a queued one at once.
    public func cancel(_ id: Int64) async throws -> Job? {
        let job = try await queue.requestCancel(id)
        doorbell.ring()
        return job
    }

    /// The transcript of a job that is done, from the result store, named as the job's file;
    /// nil if the job is not done or its result is no longer stored under the current
    /// settings.
    public func transcript(of job: Job) async throws -> Transcript? {
        guard job.state == .done, var transcript = try await queue.result(configuration.resultKey(for: job)) else { return nil }
        transcript.metadata.source = job.fileName.description
        return transcript
    }
}
