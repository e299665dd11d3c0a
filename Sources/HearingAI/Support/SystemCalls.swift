import CHearingShims
import Foundation

/// The Linux system calls Swift's Glibc module does not reach, for this package's modules: the
/// C shims stay behind this one door.
package enum SystemCalls {
    /// `renameat2(2)` with `RENAME_NOREPLACE`: -1 with `errno` EEXIST instead of replacing.
    package static func renameNoReplace(
        _ fromDirectory: Int32, _ from: UnsafePointer<CChar>, _ toDirectory: Int32, _ to: UnsafePointer<CChar>
    ) -> Int32 {
        CHearingShims_renameat_noreplace(fromDirectory, from, toDirectory, to)
    }

    /// `eventfd(2)` with `EFD_CLOEXEC | EFD_NONBLOCK`.
    package static func eventFD() -> Int32 {
        CHearingShims_eventfd()
    }

    /// `pipe2(2)` with `O_CLOEXEC`: 0, or -1 with `errno`.
    package static func pipe(_ fds: inout [Int32]) -> Int32 {
        fds.withUnsafeMutableBufferPointer { CHearingShims_pipe_cloexec($0.baseAddress) }
    }

    /// Whether child `pid` has exited, leaving it unreaped: 1 yes, 0 not yet (only when not
    /// `blocking`), -1 with `errno`.
    package static func childExited(_ pid: Int32, blocking: Bool) -> Int32 {
        CHearingShims_child_exited(pid, blocking ? 1 : 0)
    }

    /// Starts `path` confined (see `CHearingShims_spawn_confined`): its own process group,
    /// the three descriptors given as its standard ones and no others, default signals, the
    /// address-space and CPU limits, no core files, SIGKILL when the calling thread exits.
    /// Returns the pid, or -1 with `errno` set.
    package static func spawnConfined(
        _ path: String, arguments: [String], environment: [String], stdin: Int32, stdout: Int32, stderr: Int32,
        addressSpaceBytes: Int, cpuSeconds: Int
    ) -> Int32 {
        // Every string is copied before the fork: the child only reads these arrays.
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        return argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                CHearingShims_spawn_confined(
                    path, argvBuffer.baseAddress, envpBuffer.baseAddress, stdin, stdout, stderr,
                    UInt64(max(0, addressSpaceBytes)), UInt64(max(1, cpuSeconds)))
            }
        }
    }
}
