import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs mounted over a directory of a test, for what only a real filesystem shows: a
/// disk that fills up, a directory on another filesystem. Mounting needs root; tests that use
/// it are enabled only when the process runs as root.
final class Tmpfs {
    let mountPoint: URL
    private var mounted = false

    /// Whether this process may mount (root).
    static var canMount: Bool { geteuid() == 0 }

    /// Mounts a tmpfs of `bytes` at `mountPoint` (created if missing).
    init(at mountPoint: URL, bytes: Int) throws {
        self.mountPoint = mountPoint
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes),mode=0755", "tmpfs", mountPoint.path])
        mounted = true
    }

    deinit { unmount() }

    /// Unmounts (lazily, so a descriptor still open in a killed child cannot stop it).
    func unmount() {
        guard mounted else { return }
        try? Self.run("/bin/umount", ["-l", mountPoint.path])
        mounted = false
    }

    /// Fills the filesystem with `name` until the kernel says ENOSPC, then gives `leaving`
    /// bytes back (whole pages): room for some small files, not for all of them.
    func fill(_ name: String, leaving: Int) throws {
        let path = mountPoint.appendingPathComponent(name).path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ServiceTestError("open \(path): errno \(errno)") }
        defer { close(fd) }
        let page = [UInt8](repeating: 0x55, count: 4096)
        var size = 0
        while true {
            let n = write(fd, page, page.count)
            if n < 0 {
                if errno == EINTR { continue }
                guard errno == ENOSPC else { throw ServiceTestError("write \(path): errno \(errno)") }
                break
            }
            size += n
        }
        guard ftruncate(fd, off_t(max(0, size - leaving))) == 0 else { throw ServiceTestError("truncate \(path): errno \(errno)") }
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ServiceTestError("\(tool) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }
}
