import ServiceLifecycle

/// Pings systemd's watchdog (`WATCHDOG=1`) every half `WatchdogSec` while the service runs.
///
/// First in the group, so it is the last to stop: systemd hears from the service until the
/// processor has drained.
struct SystemdWatchdog: Service {
    let notifier: SystemdNotifier

    func run() async throws {
        guard let interval = notifier.watchdogInterval else { return }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                notifier.watchdog()
                try? await Task.sleep(for: interval)
            }
        }
    }
}
