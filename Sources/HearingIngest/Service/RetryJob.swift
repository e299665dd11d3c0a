import Foundation
import HearingAI

/// Puts a failed job back in the queue: its source moves from failed/ back into the work
/// area, its error file is removed, and its attempts start again.
public struct RetryJob: Sendable {
    let queue: any JobQueue
    let directories: IngestDirectories

    /// A retrier over `queue` and `directories`.
    public init(queue: any JobQueue, directories: IngestDirectories) {
        self.queue = queue
        self.directories = directories
    }

    /// Requeues failed job `id`; throws a one-line ``HearingAIError`` if it cannot be.
    public func retry(_ id: Int64) async throws {
        guard let job = try await queue.job(id) else { throw HearingAIError(.invalidOptions, reason: "job \(id): no such job") }
        guard job.state == .failed else {
            throw HearingAIError(.invalidOptions, reason: "job \(id): is \(job.state.rawValue), only failed jobs can be retried")
        }
        guard let finalData = job.finalName else {
            throw HearingAIError(.invalidOptions, reason: "job \(id): its source is not in failed/")
        }
        let finalName = FileName(bytes: Array(finalData))
        guard directories.failed.contains(finalName) else {
            throw HearingAIError(.invalidOptions, reason: "job \(id): \(directories.failed.path)/\(finalName) is gone")
        }
        let jobDirectory = try directories.work.makeSubdirectory(FileName(job.workDir))
        try jobDirectory.writeAtomically(Data(job.name), as: IngestDirectories.nameFile, replace: true)
        try directories.failed.move(finalName, to: jobDirectory, as: IngestDirectories.sourceName)
        directories.failed.remove(Intake.errorFileName(for: finalName), directory: false)
        try await queue.requeueFailed(id)
    }
}
