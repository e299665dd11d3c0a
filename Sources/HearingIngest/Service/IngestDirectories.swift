import Foundation
import HearingAI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The service's directories, opened once; every entry operation is relative to them.
///
/// The inbox (and the work area inside it) can be opened again while the service runs: when
/// the directory at the inbox's path is replaced (deleted or moved and made anew, or a
/// filesystem mounted there), ``reopenInbox()`` swaps in the new one.
public struct IngestDirectories: Sendable {
    /// Where files are dropped: the directory now watched.
    public var inbox: Directory { current.state.withLock { $0.inbox } }
    /// Where transcripts appear.
    public let outbox: Directory
    /// Where sources go once transcribed.
    public let processed: Directory
    /// Where sources that failed go.
    public let failed: Directory
    /// `inbox/.hearingai-work`: taken files, one subdirectory per job. Inside the inbox so a
    /// rename into it is atomic (same filesystem), and hidden so it is never taken as input.
    public var work: Directory { current.state.withLock { $0.work } }
    /// The inbox's path, as configured.
    public let inboxPath: String
    private let current: Current

    /// The inbox and work area now in use.
    private final class Current: Sendable {
        let state: Mutex<(inbox: Directory, work: Directory)>
        init(inbox: Directory, work: Directory) { state = Mutex((inbox, work)) }
    }

    static let workName = FileName(".hearingai-work")
    /// A taken file's name inside its job directory.
    static let sourceName = FileName("source")
    /// The sidecar holding the original name, written before the file is moved in.
    static let nameFile = FileName("name")

    /// Opens (creating where missing) the four directories and the work area, and checks
    /// that each can be written: a clear startup error otherwise.
    public init(configuration: IngestConfiguration) throws {
        func open(_ path: String, _ role: String) throws -> Directory {
            do {
                let directory = try Directory(path: path, create: true)
                try directory.checkWritable()
                return directory
            } catch let error as HearingAIError {
                throw HearingAIError(error.code, reason: "\(role) directory \(error.description)", errno: error.errno)
            } catch {
                throw HearingAIError(.serviceUnavailable, reason: "\(role) directory \(path): \(error.localizedDescription)")
            }
        }
        inboxPath = configuration.inbox
        let inbox = try open(configuration.inbox, "inbox")
        outbox = try open(configuration.outbox, "outbox")
        processed = try open(configuration.processed, "processed")
        failed = try open(configuration.failed, "failed")
        let work = try open(configuration.inbox + "/" + Self.workName.description, "work")
        current = Current(inbox: inbox, work: work)
        try Self.checkSeparate([("inbox", inbox), ("outbox", outbox), ("processed", processed), ("failed", failed)])
    }

    /// Device and inode: which directory a path or descriptor is.
    struct Identity: Equatable, CustomStringConvertible {
        var device: UInt64
        var inode: UInt64
        var description: String { "\(device):\(inode)" }
    }

    /// The directory now in use as the inbox.
    func inboxIdentity() -> Identity? {
        var st = stat()
        guard fstat(inbox.fd, &st) == 0 else { return nil }
        return Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// The directory at the inbox's path now, or nil if there is none (missing, or not a
    /// directory).
    func inboxPathIdentity() -> Identity? {
        var st = stat()
        guard stat(inboxPath, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { return nil }
        return Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// Opens the directory now at the inbox's path and its work area (creating that), checks
    /// they can be written, and uses them from now on. Returns the inbox and work area used
    /// before, so that the caller can move jobs left in the old work area. Nothing changes if
    /// this throws.
    func reopenInbox() throws -> (inbox: Directory, work: Directory) {
        let inbox = try Directory(path: inboxPath)
        try inbox.checkWritable()
        let work = try inbox.makeSubdirectory(Self.workName, mode: 0o755)
        try work.checkWritable()
        return current.state.withLock { state in
            let old = state
            state = (inbox, work)
            return old
        }
    }

    /// Whether the job's source is in the work area.
    func hasSource(workDir: String) -> Bool {
        (try? work.status(of: FileName(workDir + "/" + Self.sourceName.description))) != nil
    }

    /// The four directories must be different, and none may be inside the inbox: the service
    /// would take its own outputs as input.
    static func checkSeparate(_ roles: [(String, Directory)]) throws {
        let resolved = roles.map { ($0.0, URL(fileURLWithPath: $0.1.path).resolvingSymlinksInPath().standardizedFileURL.path) }
        for (i, a) in resolved.enumerated() {
            for b in resolved[(i + 1)...] {
                if a.1 == b.1 {
                    throw HearingAIError(
                        .serviceUnavailable, reason: "\(a.0) and \(b.0) are the same directory (\(a.1)): use four different directories")
                }
            }
        }
        let inbox = resolved[0].1
        for (role, path) in resolved.dropFirst() where path.hasPrefix(inbox + "/") {
            throw HearingAIError(
                .serviceUnavailable, reason: "\(role) directory \(path) is inside the inbox: the service would take its own files as input")
        }
    }

    /// The directories by filesystem, as roles joined with `+` ("inbox+outbox",
    /// "processed+failed"): moves between groups copy instead of renaming.
    func filesystems() -> [String] {
        var groups: [(device: UInt64?, roles: [String])] = []
        for (role, directory) in [("inbox", inbox), ("outbox", outbox), ("processed", processed), ("failed", failed)] {
            let device = directory.device
            if let index = groups.firstIndex(where: { $0.device != nil && $0.device == device }) {
                groups[index].roles.append(role)
            } else {
                groups.append((device, [role]))
            }
        }
        return groups.map { $0.roles.joined(separator: "+") }
    }

    /// The path of a job's source file.
    func sourcePath(workDir: String) -> String {
        "\(work.path)/\(workDir)/\(Self.sourceName)"
    }
}
