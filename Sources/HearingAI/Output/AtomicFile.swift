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
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UInt32.random(in: 0...UInt32.max)).tmp")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw failure(url, "cannot create a temporary file", errno) }
        var ok = false
        defer {
            if !ok { unlink(temporary.path) }
        }
        do {
            defer { close(fd) }
            try data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw failure(url, "write failed", errno)
                    }
                    offset += n
                }
            }
            guard fsync(fd) == 0 else { throw failure(url, "fsync failed", errno) }
        }
        guard rename(temporary.path, url.path) == 0 else { throw failure(url, "rename failed", errno) }
        ok = true
        syncDirectory(directory)
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
}
