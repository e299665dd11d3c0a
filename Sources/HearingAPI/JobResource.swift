import Foundation
import HearingAI
import HearingIngest

/// A job as the API shows it (`GET /v1/jobs/ID`).
struct JobResource: Encodable {
    struct Progress: Encodable {
        var chunks_done: Int
        var chunks_total: Int
        var audio_done_seconds: Double
        var audio_total_seconds: Double
    }
    var id: Int64
    var object = "job"
    var state: String
    var origin: String
    var file_name: String
    var size_bytes: Int64
    var sha256: String
    var attempts: Int
    var created_at: Int64
    var started_at: Int64?
    var finished_at: Int64?
    var progress: Progress
    var error: String?
    var waiting_for: String?
    var cancel_requested: Bool
    /// Where the transcript is served once the job is done.
    var transcripts: [String: String]?

    init(_ job: Job) {
        let id = job.id ?? 0
        self.id = id
        state = job.state.rawValue
        origin = job.origin.rawValue
        file_name = job.fileName.description
        size_bytes = job.size
        sha256 = job.sha256
        attempts = job.attempts
        created_at = Int64(job.createdAt.timeIntervalSince1970)
        started_at = job.startedAt.map { Int64($0.timeIntervalSince1970) }
        finished_at = job.finishedAt.map { Int64($0.timeIntervalSince1970) }
        progress = Progress(
            chunks_done: job.chunksDone, chunks_total: job.chunksTotal, audio_done_seconds: job.audioDone,
            audio_total_seconds: job.audioTotal)
        error = job.state == .done ? nil : job.lastError
        waiting_for = job.waitingFor
        cancel_requested = job.cancelRequested
        if job.state == .done {
            transcripts = Dictionary(
                uniqueKeysWithValues: TranscriptFormat.allCases.map { ($0.rawValue, "/v1/jobs/\(id)/transcript.\($0.fileExtension)") })
        }
    }
}

/// A page of jobs (`GET /v1/jobs`), newest first.
struct JobList: Encodable {
    var object = "list"
    var data: [JobResource]
    var has_more: Bool
    /// The next page's address, if there is one.
    var next: String?
}

extension JSONEncoder {
    /// Stable, readable JSON for responses.
    static var api: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
