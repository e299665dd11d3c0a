import Logging
import ServiceLifecycle

/// Hands the inbox's inotify events to the intake, as hints: a name to look at, (after the
/// kernel's queue overflowed) a full rescan, or (the directory itself deleted, moved or
/// unmounted) a check of what is at the inbox's path now.
///
/// The ``InotifyWatcher`` is started before the service's first scan, so nothing dropped
/// between that scan and this service's start is missed. Last in the group, so it is the
/// first to stop.
struct InboxWatcher: Service {
    let watcher: InotifyWatcher
    let intake: Intake
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await event in watcher.events {
                switch event {
                case .changed(let name): await intake.observe(name)
                case .overflow:
                    logger.warning("inotify queue overflowed; rescanning the inbox")
                    await intake.rescan()
                case .directoryGone:
                    await intake.checkInbox(cause: "the directory was deleted, moved or unmounted")
                }
            }
        }
        watcher.stop()
    }
}
