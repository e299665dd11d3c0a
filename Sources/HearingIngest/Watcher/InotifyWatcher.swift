import Foundation
import HearingAI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the inbox's inotify watch reports. Events are hints: the directory listing is the
/// truth, so an event only says where to look.
public enum InboxEvent: Sendable, Equatable {
    /// A file was closed after writing, or moved in, under this name.
    case changed(FileName)
    /// The kernel's event queue overflowed: events were lost, rescan everything.
    case overflow
    /// The watched directory itself was deleted or moved, or its filesystem unmounted, or the
    /// watch was removed: the path may no longer lead to the directory being watched.
    case directoryGone
}

/// Watches a directory with inotify for `IN_CLOSE_WRITE` and `IN_MOVED_TO`, and for the
/// directory's own removal (`IN_DELETE_SELF`, `IN_MOVE_SELF`, `IN_UNMOUNT`, `IN_IGNORED`), as
/// an `AsyncSequence` of ``InboxEvent``.
///
/// A thread of its own blocks in `poll(2)` on the inotify descriptor and an `eventfd` used to
/// stop it; events cross to async code through an `AsyncStream`. Descriptors are opened with
/// `CLOEXEC` and closed once, when the thread ends, under the same lock that ``stop()`` and
/// ``rewatch()`` take, so neither touches a number that may already belong to another file.
public final class InotifyWatcher: Sendable {
    /// The events, until ``stop()`` or deinit.
    public let events: AsyncStream<InboxEvent>
    /// The watched path.
    public let directory: String
    private let descriptors: Descriptors

    /// The events asked for. `IN_CREATE` too: symlinks, FIFOs, directories and hard links give
    /// no close-write event. `IN_UNMOUNT` and `IN_IGNORED` are always reported.
    static let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

    /// The inotify descriptor with its current watch, and the eventfd that wakes the thread;
    /// closed by the thread when it ends.
    private final class Descriptors: Sendable {
        private struct State {
            var inotify: Int32?
            var stop: Int32?
            var watch: Int32
        }
        private let state: Mutex<State>

        init(inotify: Int32, stop: Int32, watch: Int32) {
            state = Mutex(State(inotify: inotify, stop: stop, watch: watch))
        }

        /// Wakes the thread, unless it has ended and closed the descriptor.
        func signal() {
            state.withLock { state in
                guard let fd = state.stop else { return }
                var one: UInt64 = 1
                _ = write(fd, &one, 8)
            }
        }

        /// Watches `path` again (a new directory there gets a new watch) and drops the old
        /// watch. Throws if the path cannot be watched; nothing changes then.
        func rewatch(_ path: String) throws {
            try state.withLock { state in
                guard let fd = state.inotify else { return }
                let watch = inotify_add_watch(fd, path, InotifyWatcher.mask)
                guard watch >= 0 else { throw HearingAIError.system("inotify_add_watch", path: path, errno: errno) }
                if watch != state.watch {
                    // The old directory may still exist elsewhere (moved): stop hearing of it.
                    // EINVAL when the kernel already removed the watch is expected.
                    _ = inotify_rm_watch(fd, state.watch)
                    state.watch = watch
                }
            }
        }

        /// Closes both descriptors; later calls do nothing.
        func close() {
            state.withLock { state in
                if let fd = state.inotify { Glibc.close(fd) }
                if let fd = state.stop { Glibc.close(fd) }
                state.inotify = nil
                state.stop = nil
            }
        }
    }

    /// Starts watching `directory`.
    public init(directory: String) throws {
        self.directory = directory
        let inotifyFD = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard inotifyFD >= 0 else { throw HearingAIError.system("inotify_init1", path: directory, errno: errno) }
        let watch = inotify_add_watch(inotifyFD, directory, Self.mask)
        guard watch >= 0 else {
            let code = errno
            close(inotifyFD)
            throw HearingAIError.system("inotify_add_watch", path: directory, errno: code)
        }
        let stopFD = SystemCalls.eventFD()
        guard stopFD >= 0 else {
            let code = errno
            close(inotifyFD)
            throw HearingAIError.system("eventfd", path: directory, errno: code)
        }
        let descriptors = Descriptors(inotify: inotifyFD, stop: stopFD, watch: watch)
        self.descriptors = descriptors
        let (stream, continuation) = AsyncStream.makeStream(of: InboxEvent.self, bufferingPolicy: .bufferingNewest(65_536))
        self.events = stream
        let thread = Thread {
            Self.readLoop(inotifyFD: inotifyFD, stopFD: stopFD, continuation: continuation)
            descriptors.close()
        }
        thread.name = "inotify"
        thread.start()
        continuation.onTermination = { _ in descriptors.signal() }
    }

    /// Stops watching; the event sequence ends. Safe to call any number of times, before or
    /// after the sequence has ended.
    public func stop() {
        descriptors.signal()
    }

    /// Watches the directory's path again, after it was replaced (deleted or moved and made
    /// anew, or remounted): events then come from the directory now at the path. Does nothing
    /// once the watcher has stopped.
    public func rewatch() throws {
        try descriptors.rewatch(directory)
    }

    private static func readLoop(inotifyFD: Int32, stopFD: Int32, continuation: AsyncStream<InboxEvent>.Continuation) {
        defer { continuation.finish() }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var fds = [pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0), pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
        while true {
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            while true {
                let count = buffer.withUnsafeMutableBytes { read(inotifyFD, $0.baseAddress, $0.count) }
                if count < 0 {
                    if errno == EINTR { continue }
                    break  // EAGAIN: drained
                }
                if count == 0 { break }
                parse(buffer, count: count) { continuation.yield($0) }
            }
        }
    }

    /// The events about the watched directory itself.
    static let selfEvents = UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED)

    /// Splits a read's worth of `struct inotify_event` records (variable length: a header
    /// then `len` bytes of NUL-padded name).
    static func parse(_ buffer: [UInt8], count: Int, emit: (InboxEvent) -> Void) {
        let header = MemoryLayout<inotify_event>.size
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset + header <= count {
                let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    emit(.overflow)
                } else if mask & selfEvents != 0 {
                    emit(.directoryGone)
                } else if length > 0 {
                    let nameBytes = raw[(offset + header)..<(offset + header + length)].prefix(while: { $0 != 0 })
                    emit(.changed(FileName(bytes: Array(nameBytes))))
                }
                offset += header + length
            }
        }
    }
}
