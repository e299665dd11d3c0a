import CHearingShims

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
}
