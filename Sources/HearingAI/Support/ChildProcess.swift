import CHearingShims
import Foundation
import Synchronization

/// A program HearingAI runs on input it does not trust — FFmpeg on a dropped file — confined
/// and watched.
///
/// The child gets an explicit argument vector (no shell), standard input from /dev/null, its
/// own process group, no descriptor of ours, resource limits (``Limits``) and SIGKILL if the
/// thread that started it exits. Its standard output is read through a pipe with a stall
/// timeout; its standard error is drained meanwhile into a bounded tail, so that a chatty
/// child never blocks on a full pipe and an error can say what the child said.
///
/// Reading (``read(into:stallTimeout:)``, ``wait(timeout:)``) belongs to one thread, the one
/// that started the child; ``kill(because:)`` and ``interrupt()`` may be called from any thread.
/// Every descriptor is close-on-exec and closed once, by `deinit`.
final class ChildProcess: Sendable {
    /// Limits set in the child before it runs the program.
    struct Limits: Sendable, Hashable {
        /// RLIMIT_AS: allocations beyond it fail inside the child.
        var addressSpaceBytes: Int
        /// RLIMIT_CPU: SIGXCPU at this many seconds of CPU time, SIGKILL five seconds later.
        var cpuSeconds: Int
    }

    /// How the child ended.
    enum Termination: Sendable, Hashable, CustomStringConvertible {
        /// It exited with this status.
        case exited(Int32)
        /// A signal ended it.
        case signalled(Int32)

        var description: String {
            switch self {
            case .exited(let status): "exit status \(status)"
            case .signalled(let signal): "signal \(signal) (\(String(cString: strsignal(signal))))"
            }
        }
    }

    /// Why a read did not return data.
    enum ReadFailure: Error, Sendable, Equatable {
        /// No output for the whole stall timeout; the child has been killed.
        case stalled(seconds: Double)
        /// ``interrupt()`` was called (the task was cancelled); the child has been killed.
        case interrupted
    }

    /// Why HearingAI killed the child, if it did.
    enum KillReason: Sendable, Hashable {
        case stalled, interrupted, closed
    }

    /// Bytes of standard error kept: the end, where programs say why they stopped.
    static let errorTailBytes = 4_096

    /// The program run.
    let executable: String
    /// Its process id, also its process group's.
    let pid: pid_t
    private let output: Int32
    private let errors: Int32
    private let wake: Int32

    private struct State {
        var termination: Termination?
        var killReason: KillReason?
        var errorTail: [UInt8] = []
        var errorsOpen = true
        var peakResidentBytes = 0
    }
    private let state = Mutex(State())

    /// Children started and not yet reaped, for the memory supervisor.
    private static let live = Mutex<Set<pid_t>>([])

    /// Starts `executable` with `arguments` and an empty environment under `limits`.
    /// Throws a ``HearingAIError`` with `errno` when it cannot be started.
    init(executable: String, arguments: [String], limits: Limits) throws {
        self.executable = executable
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard SystemCalls.pipe(&outPipe) == 0 else { throw HearingAIError.system("pipe", path: executable, errno: errno) }
        guard SystemCalls.pipe(&errPipe) == 0 else {
            let code = errno
            close(outPipe[0])
            close(outPipe[1])
            throw HearingAIError.system("pipe", path: executable, errno: code)
        }
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let wake = SystemCalls.eventFD()
        defer {
            close(outPipe[1])
            close(errPipe[1])
            if devNull >= 0 { close(devNull) }
        }
        guard devNull >= 0, wake >= 0 else {
            let code = errno
            [outPipe[0], errPipe[0], wake].filter { $0 >= 0 }.forEach { close($0) }
            throw HearingAIError.system("open", path: devNull < 0 ? "/dev/null" : "eventfd", errno: code)
        }
        let pid = SystemCalls.spawnConfined(
            executable, arguments: [executable] + arguments, environment: [], stdin: devNull, stdout: outPipe[1],
            stderr: errPipe[1], addressSpaceBytes: limits.addressSpaceBytes, cpuSeconds: limits.cpuSeconds)
        guard pid > 0 else {
            let code = errno
            close(outPipe[0])
            close(errPipe[0])
            close(wake)
            throw HearingAIError.system("starting the program", path: executable, errno: code)
        }
        self.pid = pid
        self.output = outPipe[0]
        self.errors = errPipe[0]
        self.wake = wake
        Self.live.withLock { _ = $0.insert(pid) }
    }

    deinit {
        if state.withLock({ $0.termination }) == nil {
            kill(because: .closed)
            _ = reap(blocking: true)
        }
        close(output)
        close(errors)
        close(wake)
    }

    // MARK: - Reading

    /// Reads standard output into `buffer`; returns the bytes read, 0 at its end. Waits at most
    /// `stallTimeout` for the child to produce anything, then kills it and throws
    /// ``ReadFailure/stalled(seconds:)``; throws ``ReadFailure/interrupted`` after ``interrupt()``.
    func read(into buffer: UnsafeMutableRawBufferPointer, stallTimeout: Duration) throws -> Int {
        let clock = ContinuousClock()
        let deadline = clock.now + stallTimeout
        while true {
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero else {
                kill(because: .stalled)
                throw ReadFailure.stalled(seconds: stallTimeout.seconds)
            }
            let errorsOpen = state.withLock { $0.errorsOpen }
            var fds = [
                pollfd(fd: output, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                pollfd(fd: errorsOpen ? errors : -1, events: Int16(POLLIN), revents: 0),
            ]
            let milliseconds = Int32(clamping: max(1, Int64((remaining.seconds * 1000).rounded(.up))))
            let ready = poll(&fds, nfds_t(fds.count), milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw HearingAIError.system("poll", path: executable, errno: errno)
            }
            if fds[1].revents != 0 {
                var count: UInt64 = 0
                _ = Glibc.read(wake, &count, MemoryLayout<UInt64>.size)
                kill(because: .interrupted)
                throw ReadFailure.interrupted
            }
            if fds[2].revents != 0 { drainErrors() }
            if fds[0].revents != 0 {
                let got = Glibc.read(output, buffer.baseAddress, buffer.count)
                if got >= 0 { return got }
                if errno == EINTR || errno == EAGAIN { continue }
                throw HearingAIError.system("read", path: executable, errno: errno)
            }
        }
    }

    /// Wakes a ``read(into:stallTimeout:)`` in progress (or the next one), which kills the child
    /// and throws ``ReadFailure/interrupted``. Safe from any thread.
    func interrupt() {
        var one: UInt64 = 1
        _ = Glibc.write(wake, &one, MemoryLayout<UInt64>.size)
    }

    /// Kills the child's whole process group, unless it has been reaped. Safe from any thread.
    func kill(because reason: KillReason) {
        state.withLock { state in
            // Under the lock that reaping takes: the group id cannot have been reused yet.
            guard state.termination == nil else { return }
            if state.killReason == nil { state.killReason = reason }
            _ = Glibc.kill(-pid, SIGKILL)
        }
    }

    /// Why HearingAI killed the child, if it did.
    var killReason: KillReason? { state.withLock { $0.killReason } }

    /// Waits for the child to exit, draining standard error, for at most `timeout`; then kills
    /// it and waits for that. Returns how it ended.
    func wait(timeout: Duration) -> Termination {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            if let termination = reap(blocking: false) {
                drainErrors(untilEnd: true)
                return termination
            }
            if clock.now >= deadline {
                kill(because: .stalled)
                let termination = reap(blocking: true) ?? .signalled(SIGKILL)
                drainErrors(untilEnd: true)
                return termination
            }
            // Sleep by waiting on standard error, which must be drained anyway.
            let errorsOpen = state.withLock { $0.errorsOpen }
            var fd = pollfd(fd: errorsOpen ? errors : -1, events: Int16(POLLIN), revents: 0)
            if poll(&fd, 1, 10) > 0 { drainErrors() }
        }
    }

    /// The end of what the child wrote to standard error, as text.
    var errorOutput: String {
        String(decoding: state.withLock { $0.errorTail }, as: UTF8.self)
    }

    /// The child's peak resident size, from the kernel's accounting when it was reaped; 0 before.
    var peakResidentBytes: Int { state.withLock { $0.peakResidentBytes } }

    /// Resident bytes of every child started and not yet reaped, from /proc/PID/statm.
    static func residentBytesOfLiveChildren() -> Int {
        live.withLock { Array($0) }.reduce(0) { total, pid in
            guard let fields = ProcFS.statm(pid: String(pid)), fields.count > 1, let pages = Int(fields[1]) else { return total }
            return total + pages * SystemInfo.pageSize
        }
    }

    // MARK: - Internals

    /// Reaps the child if it has exited (or, `blocking`, once it does), recording how.
    private func reap(blocking: Bool) -> Termination? {
        if let done = state.withLock({ $0.termination }) { return done }
        // Look without reaping first: the pid stays ours until the lock below is held.
        guard SystemCalls.childExited(pid, blocking: blocking) == 1 else { return nil }
        return state.withLock { state in
            var status: Int32 = 0
            var usage = rusage()
            while wait4(pid, &status, 0, &usage) < 0, errno == EINTR {}
            let termination: Termination =
                (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
            state.termination = termination
            state.peakResidentBytes = usage.ru_maxrss * 1024
            Self.live.withLock { _ = $0.remove(pid) }
            return termination
        }
    }

    /// Reads what standard error holds now (or, `untilEnd`, until its end, for at most a
    /// second: a grandchild could keep it open) into the bounded tail.
    private func drainErrors(untilEnd: Bool = false) {
        var chunk = [UInt8](repeating: 0, count: 4_096)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(1)
        while state.withLock({ $0.errorsOpen }) {
            var fd = pollfd(fd: errors, events: Int16(POLLIN), revents: 0)
            let wait: Int32 = untilEnd ? Int32(max(0, clock.now.duration(to: deadline).seconds * 1000)) : 0
            let ready = poll(&fd, 1, wait)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { return }
            let got = chunk.withUnsafeMutableBytes { Glibc.read(errors, $0.baseAddress, $0.count) }
            if got < 0, errno == EINTR { continue }
            state.withLock { state in
                if got <= 0 {
                    state.errorsOpen = false
                } else {
                    state.errorTail.append(contentsOf: chunk[0..<got])
                    if state.errorTail.count > Self.errorTailBytes {
                        state.errorTail.removeFirst(state.errorTail.count - Self.errorTailBytes)
                    }
                }
            }
            if !untilEnd, got > 0 { continue }
        }
    }
}
