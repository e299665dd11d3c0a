import Logging
import ServiceLifecycle

/// On a shared queue: makes this node the one that lists the shared inbox whenever no other
/// node does (``SharedJobQueue/leadInboxListing(retry:changed:)``), and tells the ``Intake``
/// when it starts or stops. inotify does not see files that other machines write into a
/// network filesystem, and several nodes listing one directory would each race to take every
/// file, so one node lists (every `rescan_seconds`, and on its own inotify events) and takes;
/// all nodes transcribe. When the lister dies, another takes over within ``retry``.
struct InboxListing: Service {
    /// How often a node that does not list tries to, and the lister checks its hold.
    static let retry: Duration = .seconds(2)

    let queue: any SharedJobQueue
    let intake: Intake
    let logger: Logger

    func run() async throws {
        let intake = self.intake
        // In order: a start and a stop must not overtake each other.
        let (changes, continuation) = AsyncStream.makeStream(of: Bool.self)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await leading in changes { await intake.setListsInbox(leading) }
            }
            await cancelWhenGracefulShutdown {
                try? await queue.leadInboxListing(retry: Self.retry) { continuation.yield($0) }
            }
            continuation.yield(false)
            continuation.finish()
            await group.waitForAll()
        }
    }
}
