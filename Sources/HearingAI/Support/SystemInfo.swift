import Foundation

/// Facts about the machine and this process, read from the kernel.
public enum SystemInfo {
    /// Cores this process may run on (its CPU affinity), at least 1.
    public static var activeProcessorCount: Int {
        ProcessInfo.processInfo.activeProcessorCount
    }

    /// Resident set size of this process in bytes, from /proc/self/statm.
    public static func residentBytes() -> Int {
        guard let fields = ProcFS.statm(), fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * pageSize
    }

    /// Resident bytes of this process and of the children it runs on files (FFmpeg): what the
    /// memory limit covers, as a cgroup would count it.
    public static func processTreeResidentBytes() -> Int {
        residentBytes() + ChildProcess.residentBytesOfLiveChildren()
    }

    /// Peak resident set size (VmHWM) of this process in bytes, from /proc/self/status.
    public static func peakResidentBytes() -> Int {
        ProcFS.statusBytes("VmHWM:") ?? 0
    }

    /// Resets the kernel's peak-RSS counter (VmHWM) to the current RSS, so a run can measure its
    /// own peak. Returns false where the kernel does not allow it.
    @discardableResult
    public static func resetPeakResident() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data("5".utf8))
            return true
        } catch {
            return false
        }
    }

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
}
