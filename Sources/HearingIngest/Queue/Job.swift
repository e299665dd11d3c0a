public import Foundation
public import GRDB

/// A dropped file's way through the service, as stored in the queue.
public struct Job: Codable, Sendable, Identifiable, Equatable, FetchableRecord, MutablePersistableRecord {
    /// Where a job is.
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Waiting for the processor (possibly until `notBefore`).
        case queued
        /// Claimed by a processor that holds the lease.
        case running
        /// Transcribed; outputs are in the outbox.
        case done
        /// Given up; the source is in failed/ with an error file.
        case failed
    }

    /// How a job came in.
    public enum Origin: String, Codable, Sendable, CaseIterable {
        /// A file dropped into the inbox.
        case inbox
        /// A file uploaded through the HTTP API.
        case api
    }

    public static let databaseTableName = "job"

    /// The table's columns, for queries.
    public enum Columns {
        static let id = Column(CodingKeys.id)
        static let workDir = Column(CodingKeys.workDir)
        static let state = Column(CodingKeys.state)
        static let attempts = Column(CodingKeys.attempts)
        static let leaseOwner = Column(CodingKeys.leaseOwner)
        static let leaseToken = Column(CodingKeys.leaseToken)
        static let heartbeatAt = Column(CodingKeys.heartbeatAt)
        static let notBefore = Column(CodingKeys.notBefore)
        static let lastError = Column(CodingKeys.lastError)
        static let chunksDone = Column(CodingKeys.chunksDone)
        static let chunksAtClaim = Column(CodingKeys.chunksAtClaim)
        static let chunksTotal = Column(CodingKeys.chunksTotal)
        static let audioDone = Column(CodingKeys.audioDone)
        static let audioTotal = Column(CodingKeys.audioTotal)
        static let outputStem = Column(CodingKeys.outputStem)
        static let finalName = Column(CodingKeys.finalName)
        static let waitingFor = Column(CodingKeys.waitingFor)
        static let updatedAt = Column(CodingKeys.updatedAt)
        static let finishedAt = Column(CodingKeys.finishedAt)
        static let origin = Column(CodingKeys.origin)
        static let priority = Column(CodingKeys.priority)
        static let cancelRequested = Column(CodingKeys.cancelRequested)
        static let node = Column(CodingKeys.node)
    }

    /// The job's number.
    public var id: Int64?
    /// The file's name in the inbox, byte-exact.
    public var name: Data
    /// The job's directory in the work area (`inbox/.hearingai/work/WORKDIR/NAME`).
    public var workDir: String
    /// Size in bytes when taken.
    public var size: Int64
    /// Modification time in nanoseconds when taken.
    public var mtimeNs: Int64
    /// SHA-256 of the content, hex.
    public var sha256: String
    /// Where the job is.
    public var state: State
    /// Claims so far that count towards `max_attempts`: counted when claimed (so a crash
    /// counts), and uncounted again when the attempt ends without being the file's fault (a
    /// graceful stop, a full disk, or a crash after the attempt finished new chunks).
    public var attempts: Int
    /// The processor holding the lease, while running.
    public var leaseOwner: String?
    /// Raised by every claim: writes under an older lease are refused.
    public var leaseToken: Int64
    /// When the lease holder last said it was alive.
    public var heartbeatAt: Date?
    /// Not to be claimed before this time (retry backoff).
    public var notBefore: Date
    /// The last failure, one line.
    public var lastError: String?
    /// Chunks finished, of `chunksTotal`.
    public var chunksDone: Int
    /// `chunksDone` when the current attempt was claimed: an attempt that ends with more has
    /// made progress.
    public var chunksAtClaim: Int
    /// Chunks expected.
    public var chunksTotal: Int
    /// Seconds of audio finished, of `audioTotal`.
    public var audioDone: Double
    /// Seconds of audio in the file.
    public var audioTotal: Double
    /// The outbox stem chosen for this job's outputs, recorded before they are written so a
    /// retry rewrites the same files instead of making a second set.
    public var outputStem: Data?
    /// The source's name in processed/ or failed/ once moved there.
    public var finalName: Data?
    /// What the job waits for while the machine, not the file, is at fault ("disk full on
    /// DIR"); set by ``JobQueue/waitForResource(_:reason:notBefore:now:)``, cleared when the
    /// job ends or fails for another reason.
    public var waitingFor: String?
    /// When the job was queued.
    public var createdAt: Date
    /// When the current attempt started.
    public var startedAt: Date?
    /// When the job was last changed.
    public var updatedAt: Date
    /// When the job ended (done or failed).
    public var finishedAt: Date?
    /// How the job came in.
    public var origin: Origin
    /// Higher is claimed first: an upload, whose client waits for it, goes ahead of the inbox.
    public var priority: Int
    /// Whether a client asked for the job to be cancelled: a queued one is failed when next
    /// claimed (at once: it is claimed before anything else), a running one at its next
    /// heartbeat.
    public var cancelRequested: Bool
    /// The node (`node_name`) that claimed the job last: which machine runs it, or ran it.
    /// Kept when the job ends, so `jobs list` shows jobs by node.
    public var node: String?

    /// The inbox name.
    public var fileName: FileName { FileName(bytes: Array(name)) }

    /// The lease this job is held under, while running.
    public var lease: Lease? {
        guard state == .running, let id, let leaseOwner else { return nil }
        return Lease(jobID: id, owner: leaseOwner, token: leaseToken)
    }

    /// Marks a queued job claimed by `owner` (`NODE:PID:START`) under the next lease token: the
    /// one change every backend's claim makes.
    public mutating func claim(owner: String, now: Date) {
        state = .running
        attempts += 1
        chunksAtClaim = chunksDone
        leaseOwner = owner
        node = Self.node(ofOwner: owner)
        leaseToken += 1
        heartbeatAt = now
        startedAt = now
        updatedAt = now
    }

    /// The node part of a lease owner (`NODE:PID:START`); the whole string if it has no such
    /// form.
    public static func node(ofOwner owner: String) -> String {
        let parts = owner.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return owner }
        return parts.dropLast(2).joined(separator: ":")
    }

    /// Puts a running job whose lease holder died back in the queue, by the rule every backend
    /// keeps: an attempt whose chunks grew past ``chunksAtClaim`` is not counted (whatever
    /// killed it — an OOM kill, a power cut — was not the file's doing); one that died
    /// without finishing a new chunk stays counted, so a file that kills the process at the
    /// same chunk every time still reaches `max_attempts`.
    public mutating func requeueAsOrphan(now: Date) {
        state = .queued
        leaseOwner = nil
        if chunksDone > chunksAtClaim {
            attempts = max(0, attempts - 1)
            lastError =
                "interrupted after progress (chunks \(chunksAtClaim) → \(chunksDone)): the service stopped while transcribing; not counted"
        } else {
            lastError = "interrupted: the service stopped while transcribing, with no new chunk finished"
        }
        updatedAt = now
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    /// A new queued job.
    public init(
        name: FileName, workDir: String, size: Int64, mtimeNs: Int64, sha256: String, origin: Origin = .inbox, now: Date = Date()
    ) {
        self.name = Data(name.bytes)
        self.workDir = workDir
        self.size = size
        self.mtimeNs = mtimeNs
        self.sha256 = sha256
        self.state = .queued
        self.attempts = 0
        self.leaseToken = 0
        self.notBefore = now
        self.chunksDone = 0
        self.chunksAtClaim = 0
        self.chunksTotal = 0
        self.audioDone = 0
        self.audioTotal = 0
        self.createdAt = now
        self.updatedAt = now
        self.origin = origin
        self.priority = origin == .api ? 1 : 0
        self.cancelRequested = false
    }
}

/// A claim on a running job: who holds it, and the claim's token. Every write a processor makes
/// about its job names the lease, and a queue refuses writes under a lease that is no longer
/// the job's (the job was requeued and claimed again).
public struct Lease: Sendable, Hashable {
    /// The job.
    public var jobID: Int64
    /// The processor holding it (`host:pid:start`).
    public var owner: String
    /// The claim's token.
    public var token: Int64

    /// A lease.
    public init(jobID: Int64, owner: String, token: Int64) {
        self.jobID = jobID
        self.owner = owner
        self.token = token
    }
}
