import Foundation
import HearingAI

/// The service's directories, opened once; every entry operation is relative to them.
public struct IngestDirectories: Sendable {
    /// Where files are dropped.
    public let inbox: Directory
    /// Where transcripts appear.
    public let outbox: Directory
    /// Where sources go once transcribed.
    public let processed: Directory
    /// Where sources that failed go.
    public let failed: Directory
    /// `inbox/.hearingai-work`: taken files, one subdirectory per job. Inside the inbox so a
    /// rename into it is atomic (same filesystem), and hidden so it is never taken as input.
    public let work: Directory

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
        inbox = try open(configuration.inbox, "inbox")
        outbox = try open(configuration.outbox, "outbox")
        processed = try open(configuration.processed, "processed")
        failed = try open(configuration.failed, "failed")
        work = try open(configuration.inbox + "/" + Self.workName.description, "work")
        try Self.checkSeparate([("inbox", inbox), ("outbox", outbox), ("processed", processed), ("failed", failed)])
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
