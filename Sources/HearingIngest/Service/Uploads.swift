import Foundation
public import HearingAI
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Files that arrive over the HTTP API, on their way into the same queue as dropped files.
///
/// An upload is written under a random name in `inbox/.hearingai-uploads` (hidden, so the
/// intake never takes it; inside the inbox, so it reaches the work area by rename), hashed as
/// it arrives and capped at `max_upload_mb`. Only when it is complete is it fsynced, moved
/// into a job directory of the work area under the name `source` (the client's name is kept
/// only as the job's recorded name, never used as a path) and queued, ahead of inbox files. An
/// upload abandoned by its client, refused, or cut short by a crash leaves nothing: the
/// service clears the upload area at startup.
///
/// Writes run on a thread of the service's own, not on Swift's cooperative pool.
public struct Uploads: Sendable {
    static let areaName = FileName(".hearingai-uploads")

    let directories: IngestDirectories
    let queue: any JobQueue
    let doorbell: Doorbell
    let logger: Logger
    let io: BlockingThread

    init(directories: IngestDirectories, queue: any JobQueue, doorbell: Doorbell, logger: Logger) {
        self.directories = directories
        self.queue = queue
        self.doorbell = doorbell
        self.logger = logger
        io = BlockingThread(name: "upload-io")
    }

    /// Starts an upload of at most `maxBytes`: a new empty file in the upload area.
    public func begin(maxBytes: Int64) async throws -> Upload {
        let directories = self.directories
        let (area, name, fd) = try await io.run {
            let area = try directories.inbox.makeSubdirectory(Self.areaName)
            let name = FileName(".upload-\(UInt64.random(in: 0...UInt64.max)).part")
            return (area, name, try area.createFile(name))
        }
        return Upload(uploads: self, area: area, name: name, fd: fd, maxBytes: maxBytes)
    }

    /// Removes what uploads cut short by a crash left (startup, before anything is served).
    func clear() {
        guard let area = try? directories.inbox.subdirectory(Self.areaName), let names = try? area.names() else { return }
        for name in names { area.remove(name, directory: false) }
        if !names.isEmpty {
            logger.info("Removed unfinished uploads a stop left", metadata: ["uploads.count": "\(names.count)"])
        }
    }

    /// Stops the upload thread once the service has stopped.
    func shutdown() { io.shutdown() }
}

/// One file arriving over the API. Written by one request at a time: ``write(_:)`` as the
/// bytes arrive, then ``finish(name:)`` to queue it or ``abandon()`` to drop it.
public final class Upload: Sendable {
    private struct State {
        var fd: Int32
        var sha = SHA256()
        var size: Int64 = 0
    }
    private let uploads: Uploads
    private let area: Directory
    private let name: FileName
    private let state: Mutex<State>
    private let maxBytes: Int64

    fileprivate init(uploads: Uploads, area: Directory, name: FileName, fd: Int32, maxBytes: Int64) {
        self.uploads = uploads
        self.maxBytes = maxBytes
        self.area = area
        self.name = name
        state = Mutex(State(fd: fd))
    }

    deinit {
        // Neither finished nor abandoned (the request's task was cancelled): drop the file.
        let fd = state.withLock { $0.fd }
        if fd >= 0 {
            close(fd)
            area.remove(name, directory: false)
        }
    }

    /// Bytes received so far.
    public var size: Int64 { state.withLock { $0.size } }

    /// Appends `bytes`. Throws ``UploadTooLarge`` past the cap (the caller abandons the
    /// upload and answers 413).
    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        let (path, cap) = ("\(area.path)/\(name)", maxBytes)
        try await uploads.io.run { [self] in
            try self.state.withLock { state in
                guard state.fd >= 0 else { throw HearingAIError(.cancelled, reason: "the upload was abandoned") }
                guard state.size + Int64(bytes.count) <= cap else { throw UploadTooLarge(limit: cap) }
                try bytes.withUnsafeBytes { buffer in
                    var offset = 0
                    while offset < buffer.count {
                        let n = Glibc.write(state.fd, buffer.baseAddress! + offset, buffer.count - offset)
                        if n < 0 {
                            if errno == EINTR { continue }
                            throw HearingAIError.system("write", path: path, errno: errno)
                        }
                        offset += n
                    }
                    state.sha.update(buffer)
                }
                state.size += Int64(bytes.count)
            }
        }
    }

    /// Queues the complete upload as a job named `name` (the client's file name, already made
    /// safe by ``Uploads/jobName(from:)``) and returns it. The file is fsynced, moved into a
    /// new job directory of the work area, and the processor's doorbell rung.
    public func finish(name clientName: FileName) async throws -> Job {
        let (area, name, path) = (self.area, self.name, "\(area.path)/\(self.name)")
        let work = uploads.directories.work
        let (workDir, sha, size) = try await uploads.io.run { [self] () throws -> (String, String, Int64) in
            let (fd, sha, size) = self.state.withLock { state -> (Int32, String, Int64) in
                let fd = state.fd
                state.fd = -1
                return (fd, state.sha.finalizeHex(), state.size)
            }
            guard fd >= 0 else { throw HearingAIError(.cancelled, reason: "the upload was abandoned") }
            let synced = fsync(fd) == 0 ? 0 : errno
            close(fd)
            guard synced == 0 else {
                area.remove(name, directory: false)
                throw HearingAIError.system("fsync", path: path, errno: synced)
            }
            // As the intake does: the job directory and its name file first, then the file, so
            // a crash in between leaves what the startup recovery queues.
            let workDir = Intake.newWorkDirName()
            do {
                let jobDirectory = try work.makeSubdirectory(FileName(workDir))
                try jobDirectory.writeAtomically(Data(clientName.bytes), as: IngestDirectories.nameFile, replace: false)
                try area.move(name, to: jobDirectory, as: IngestDirectories.sourceName)
                jobDirectory.sync()
            } catch {
                area.remove(name, directory: false)
                work.remove(FileName(workDir + "/" + IngestDirectories.nameFile.description), directory: false)
                work.remove(FileName(workDir), directory: true)
                throw error
            }
            return (workDir, sha, size)
        }
        let job = try await uploads.queue.enqueue(
            Job(
                name: clientName, workDir: workDir, size: size, mtimeNs: Int64(Date().timeIntervalSince1970 * 1e9), sha256: sha,
                origin: .api))
        uploads.logger.info(
            "Upload queued",
            metadata: ["job.id": "\(job.id ?? 0)", "file.name": "\(clientName)", "file.size": "\(size)", "file.sha256": "\(sha)"])
        ServiceMetrics.enqueued(source: Job.Origin.api.rawValue)
        uploads.doorbell.ring()
        return job
    }

    /// Drops the upload: the partial file is removed.
    public func abandon() async {
        let (area, name) = (self.area, self.name)
        _ = try? await uploads.io.run { [self] in
            let fd = self.state.withLock { state -> Int32 in
                let fd = state.fd
                state.fd = -1
                return fd
            }
            if fd >= 0 {
                close(fd)
                area.remove(name, directory: false)
            }
        }
    }
}

/// An upload past `max_upload_mb`.
public struct UploadTooLarge: Error, Sendable, CustomStringConvertible {
    /// The cap, in bytes.
    public var limit: Int64
    public var description: String { "the upload is larger than the \(limit / 1_048_576) MB limit (max_upload_mb)" }
}

extension Uploads {
    /// The name a job records for an upload: the last component of what the client sent
    /// (anything before a `/` or `\` dropped), without control characters or leading dots,
    /// at most 200 bytes; `upload` if nothing is left. It names the outputs; it is never a
    /// path.
    public static func jobName(from clientName: String?) -> FileName {
        let base = (clientName ?? "").split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var scalars = String.UnicodeScalarView()
        for scalar in base.unicodeScalars where scalar.properties.generalCategory != .control && scalar != "\u{0}" {
            scalars.append(scalar)
        }
        let cleaned = String(scalars).drop(while: { $0 == "." || $0 == " " })
        let name = FileName(String(cleaned)).truncated(to: 200)
        return name.bytes.isEmpty ? FileName("upload") : name
    }
}
