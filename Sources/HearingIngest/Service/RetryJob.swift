import Foundation

/// Puts a failed job back in the queue: its source moves from failed/ back into the work
/// area, its error file is removed, and its attempts start again.
public struct RetryJob: Sendable {
    let queue: JobQueue
    let directories: IngestDirectories

    /// A retrier over `queue` and `directories`.
    public init(queue: JobQueue, directories: IngestDirectories) {
        self.queue = queue
        self.directories = directories
    }

    /// Requeues failed job `id`; throws a one-line ``IngestError`` if it cannot be.
    public func retry(_ id: Int64) throws {
        guard let job = try queue.job(id) else { throw IngestError("job \(id): no such job") }
        guard job.state == .failed else { throw IngestError("job \(id): is \(job.state.rawValue), only failed jobs can be retried") }
        guard let finalData = job.finalName else { throw IngestError("job \(id): its source is not in failed/") }
        let finalName = FileName(bytes: Array(finalData))
        guard directories.failed.contains(finalName) else {
            throw IngestError("job \(id): \(directories.failed.path)/\(finalName) is gone")
        }
        let jobDirectory = try directories.work.makeSubdirectory(FileName(job.workDir))
        try jobDirectory.writeAtomically(Data(job.name), as: IngestDirectories.nameFile, replace: true)
        try directories.failed.move(finalName, to: jobDirectory, as: IngestDirectories.sourceName)
        directories.failed.remove(Intake.errorFileName(for: finalName), directory: false)
        try queue.requeueFailed(id)
    }
}
