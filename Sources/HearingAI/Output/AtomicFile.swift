import CHearingShims
public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes files so that readers see either nothing or the whole file.
public enum AtomicFile {
    /// Writes `data` to a temporary file beside `url`, flushes it to disk, renames it over
    /// `url`, and flushes the directory, so a crash leaves either the old state or the new file.
    public static func write(_ data: Data, to url: URL, permissions: mode_t = 0o644) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = ".\(url.lastPathComponent).\(UInt32.random(in: 0...UInt32.max)).tmp"
        // Read access is what lets the directory be flushed after the rename; a directory that
        // may be written to but not listed is still written to, through a lookup-only descriptor.
        var directoryFD = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD < 0 { directoryFD = CHearingShims_open_directory_path(directory.path) }
        guard directoryFD >= 0 else { throw failure(url, "cannot create a temporary file", errno) }
        defer { close(directoryFD) }
        do {
            try write(data, into: directoryFD, as: url.lastPathComponent, temporary: temporary, permissions: permissions, replace: true)
        } catch {
            let what =
                switch error.step {
                case .create: "cannot create a temporary file"
                case .write: "write failed"
                case .fsync: "fsync failed"
                case .rename: "rename failed"
                }
            throw failure(url, what, error.errno)
        }
    }

    /// Flushes a directory's entries (a completed rename) to disk.
    public static func syncDirectory(_ directory: URL) {
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    private static func failure(_ url: URL, _ what: String, _ code: Int32) -> HearingAIError {
        HearingAIError(.outputFailed, path: url.path, reason: "\(what): \(String(cString: strerror(code)))")
    }

    // MARK: - The write sequence, relative to an open directory

    /// The step of an atomic write that failed, and its errno.
    package struct Failure: Error {
        /// A step of the sequence; the raw value names its system call.
        package enum Step: String, Sendable {
            case create, write, fsync, rename
        }

        /// The step that failed.
        package var step: Step
        /// The errno it failed with.
        package var errno: Int32
    }

    /// The one atomic-write sequence, in the directory open as `directory`: create `temporary`
    /// exclusively with `permissions`, write all of `data`, fsync it, rename it to `name` (over
    /// an existing `name` only when `replace` is set), then fsync the directory. The directory
    /// flush is best effort (a lookup-only descriptor cannot be flushed); on any failure the
    /// temporary entry is removed.
    package static func write(
        _ data: Data, into directory: Int32, as name: UnsafePointer<CChar>, temporary: UnsafePointer<CChar>,
        permissions: mode_t, replace: Bool
    ) throws(Failure) {
        try writeTemporary(data, into: directory, temporary: temporary, permissions: permissions)
        let result =
            replace
            ? renameat(directory, temporary, directory, name)
            : CHearingShims_renameat_noreplace(directory, temporary, directory, name)
        guard result == 0 else {
            let code = errno
            unlinkat(directory, temporary, 0)
            throw Failure(step: .rename, errno: code)
        }
        _ = fsync(directory)
    }

    /// The first half of the sequence: create `temporary` exclusively with `permissions`, write
    /// all of `data` and fsync it. On failure the temporary entry is removed; on success the
    /// caller renames it (or removes it).
    package static func writeTemporary(
        _ data: Data, into directory: Int32, temporary: UnsafePointer<CChar>, permissions: mode_t
    ) throws(Failure) {
        let fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw Failure(step: .create, errno: errno) }
        var written = false
        defer {
            if !written { unlinkat(directory, temporary, 0) }
        }
        defer { close(fd) }
        let writeErrno = data.withUnsafeBytes { raw -> Int32? in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return nil
        }
        if let writeErrno { throw Failure(step: .write, errno: writeErrno) }
        guard fsync(fd) == 0 else { throw Failure(step: .fsync, errno: errno) }
        written = true
    }
}
