import ServiceLifecycle

/// Tells systemd the service is ready (`READY=1`, after `announce`), then pings its watchdog
/// (`WATCHDOG=1`) every half `WatchdogSec` while the service runs and ``ServiceHealth`` says
/// it is ready: an inbox missing for longer than `inbox_missing_seconds` stops the pings, so
/// systemd's watchdog acts on it.
///
/// Readiness is sent from inside the group, not before it: the group traps SIGTERM before it
/// starts any service, so a stop that follows `READY=1` at once is still graceful. First in the
/// group, so it is the last to stop: systemd hears from the service until the processor has
/// drained.
struct SystemdNotifications: Service {
    let notifier: SystemdNotifier
    let health: ServiceHealth
    /// Runs just before `READY=1` (the service's "watching" log line and status).
    let announce: @Sendable () -> Void

    func run() async throws {
        announce()
        notifier.ready()
        guard let interval = notifier.watchdogInterval else { return }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if health.isReady() { notifier.watchdog() }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
