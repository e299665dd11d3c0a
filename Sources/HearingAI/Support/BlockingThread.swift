import Foundation
import Synchronization

/// A dedicated operating-system thread that runs blocking work one item at a time.
///
/// Blocking C calls (libsndfile, libsoxr, PocketSphinx) must not run on Swift's cooperative
/// thread pool: a decoder busy for seconds would starve every other task. Each `BlockingThread`
/// owns one thread for its whole life; callers `await` the result of the work they hand it.
/// Work items run in submission order, so state confined to the thread needs no lock.
public final class BlockingThread: Sendable {
    private struct State {
        var queue: [@Sendable () -> Void] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let condition = NSCondition()
    private let finished = NSCondition()
    private let exited = Mutex(false)

    /// Starts a thread named `name` (visible in `top -H` and debuggers).
    public init(name: String) {
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        // Decoders recurse through search structures; give them a roomy stack.
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Runs `body` on this thread and returns its result.
    ///
    /// Cancellation of the calling task does not interrupt `body`: blocking C calls cannot be
    /// interrupted safely, so the work finishes and the caller observes cancellation afterwards.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = enqueue {
                continuation.resume(with: Result { try body() })
            }
            if !accepted {
                continuation.resume(throwing: CancellationError())
            }
        }
    }

    /// Lets queued work finish, runs `last` (if given) on the thread, then ends the thread.
    /// Later `run` calls throw `CancellationError`. Blocks until the thread has exited, so the
    /// resources it confined can be dropped afterwards. Idempotent.
    public func shutdown(after last: (@Sendable () -> Void)? = nil) {
        let alreadyClosed = state.withLock { state in
            defer { state.closed = true }
            if !state.closed, let last { state.queue.append(last) }
            return state.closed
        }
        condition.lock()
        condition.broadcast()
        condition.unlock()
        if alreadyClosed { return }
        finished.lock()
        while !exited.withLock({ $0 }) { finished.wait() }
        finished.unlock()
    }

    private func enqueue(_ work: @escaping @Sendable () -> Void) -> Bool {
        let accepted = state.withLock { state in
            guard !state.closed else { return false }
            state.queue.append(work)
            return true
        }
        if accepted {
            condition.lock()
            condition.signal()
            condition.unlock()
        }
        return accepted
    }

    private func loop() {
        while true {
            condition.lock()
            var next: (@Sendable () -> Void)?
            var done = false
            while true {
                (next, done) = state.withLock { state in
                    if !state.queue.isEmpty { return (state.queue.removeFirst(), false) }
                    return (nil, state.closed)
                }
                if next != nil || done { break }
                condition.wait()
            }
            condition.unlock()
            if let next {
                next()
            } else if done {
                break
            }
        }
        finished.lock()
        exited.withLock { $0 = true }
        finished.broadcast()
        finished.unlock()
    }
}
