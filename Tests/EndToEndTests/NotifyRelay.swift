import Foundation
import Synchronization

/// The notify socket of one run of the service under test. A thread of its own collects every
/// message the service sends, so a test can wait for `READY=1` the way systemd does, and, when
/// the test listens on a socket of its own, forwards each message there in order, so that test
/// sees exactly what systemd would.
final class NotifyRelay: Sendable {
    /// The socket the service is given as `NOTIFY_SOCKET`.
    var path: String { socket.path }

    private let socket: NotifySocket
    private let forwardTo: String?
    private let state = Mutex(State())
    private let finished = DispatchSemaphore(value: 0)

    private struct State {
        var messages: [String] = []
        var stopping = false
    }

    /// Binds `path` and starts collecting; `forwardTo` is the test's own socket, if any.
    init(path: String, forwardingTo forwardTo: String?) throws {
        socket = try NotifySocket(path: path)
        self.forwardTo = forwardTo
        // A thread rather than a task: recv blocks (up to the socket's 200 ms timeout).
        Thread { [self] in
            while !state.withLock({ $0.stopping }) {
                guard let message = socket.receiveOne() else { continue }
                if let forwardTo { NotifySocket.send(message, to: forwardTo) }
                state.withLock { $0.messages.append(message) }
            }
            finished.signal()
        }.start()
    }

    /// Every message received so far, in order.
    var messages: [String] { state.withLock { $0.messages } }

    /// Stops collecting and waits for the thread; the socket is closed and unlinked with the
    /// last reference. A second call returns at once.
    func stop() {
        let wasStopping = state.withLock { state in
            defer { state.stopping = true }
            return state.stopping
        }
        if !wasStopping { finished.wait() }
    }
}
