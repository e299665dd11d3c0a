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
}

/// Watches a directory with inotify for `IN_CLOSE_WRITE` and `IN_MOVED_TO`, as an
/// `AsyncSequence` of ``InboxEvent``.
///
/// A thread of its own blocks in `poll(2)` on the inotify descriptor and an `eventfd` used to
/// stop it; events cross to async code through an `AsyncStream`. Descriptors are opened with
/// `CLOEXEC` and closed once, when the thread ends. The stop descriptor is written and closed
/// under one lock, so a ``stop()`` after the thread has ended writes nothing: the number may
/// already belong to another file.
public final class InotifyWatcher: Sendable {
    /// The events, until ``stop()`` or deinit.
    public let events: AsyncStream<InboxEvent>
    /// The eventfd that wakes the thread.
    private let stopSignal: StopSignal

    /// An eventfd written to stop the thread, and closed by the thread when it ends.
    private final class StopSignal: Sendable {
        private let fd: Mutex<Int32?>
        init(_ fd: Int32) { self.fd = Mutex(fd) }

        /// Wakes the thread, unless it has ended and closed the descriptor.
        func signal() {
            fd.withLock { fd in
                guard let fd else { return }
                var one: UInt64 = 1
                _ = write(fd, &one, 8)
            }
        }

        /// Closes the descriptor; later signals do nothing.
        func close() {
            fd.withLock { fd in
                if let open = fd { Glibc.close(open) }
                fd = nil
            }
        }
    }

    /// Starts watching `directory`.
    public init(directory: String) throws {
        let inotifyFD = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard inotifyFD >= 0 else { throw HearingAIError.system("inotify_init1", path: directory, errno: errno) }
        // IN_CREATE too: symlinks, FIFOs, directories and hard links give no close-write event.
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR)
        guard inotify_add_watch(inotifyFD, directory, mask) >= 0 else {
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
        let stopSignal = StopSignal(stopFD)
        self.stopSignal = stopSignal
        let (stream, continuation) = AsyncStream.makeStream(of: InboxEvent.self, bufferingPolicy: .bufferingNewest(65_536))
        self.events = stream
        let thread = Thread {
            Self.readLoop(inotifyFD: inotifyFD, stopFD: stopFD, continuation: continuation)
            close(inotifyFD)
            stopSignal.close()
        }
        thread.name = "inotify"
        thread.start()
        continuation.onTermination = { _ in stopSignal.signal() }
    }

    /// Stops watching; the event sequence ends. Safe to call any number of times, before or
    /// after the sequence has ended.
    public func stop() {
        stopSignal.signal()
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
                } else if length > 0 {
                    let nameBytes = raw[(offset + header)..<(offset + header + length)].prefix(while: { $0 != 0 })
                    emit(.changed(FileName(bytes: Array(nameBytes))))
                }
                offset += header + length
            }
        }
    }
}
