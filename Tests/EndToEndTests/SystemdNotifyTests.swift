import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The service speaks systemd's notification protocol to a real datagram socket, as systemd
/// would listen on it for a `Type=notify` unit with `WatchdogSec=`.
@Suite("hearingai watch and systemd notifications", .timeLimit(.minutes(2)))
struct SystemdNotifyTests {
    @Test("READY=1 after startup, STATUS= lines, WATCHDOG=1 while healthy, STOPPING=1 on SIGTERM")
    func notifications() throws {
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let socketPath = dir.appendingPathComponent("notify.sock").path
        let listener = try NotifySocket(path: socketPath)
        let service = try ServiceProcess(environment: ["NOTIFY_SOCKET": socketPath, "WATCHDOG_USEC": "400000"])
        defer { service.cleanup() }
        try service.start()

        let startup = listener.receive(for: 20) { messages in
            messages.contains("READY=1") && messages.filter { $0 == "WATCHDOG=1" }.count >= 2
        }
        #expect(startup.contains("READY=1"), "\(startup)")
        #expect(startup.contains { $0.hasPrefix("STATUS=watching ") }, "\(startup)")
        // Pings every half interval (0.2 s): at least two within the wait.
        #expect(startup.filter { $0 == "WATCHDOG=1" }.count >= 2, "\(startup)")
        // READY comes once the startup scan is done, before any ping.
        if let ready = startup.firstIndex(of: "READY=1"), let ping = startup.firstIndex(of: "WATCHDOG=1") {
            #expect(ready < ping)
        }

        let (status, _, _) = try service.terminate(signal: SIGTERM)
        #expect(status == 0)
        let shutdown = listener.receive(for: 5) { $0.contains("STOPPING=1") }
        #expect(shutdown.contains("STOPPING=1"), "\(shutdown)")
    }

    @Test("Every run of a service test gets its own notify socket, and start() returns once READY=1 came")
    func readinessSocketPerRun() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        for run in 1...2 {
            try service.start()
            #expect(service.notifyMessages.contains("READY=1"), "\(service.notifyMessages)")
            #expect(service.notifyMessages.contains { $0.hasPrefix("STATUS=watching ") }, "\(service.notifyMessages)")
            let socket = service.notifySocketURL(run: run)
            #expect(socket.deletingLastPathComponent().path == service.root.path)
            #expect(socket.path.utf8.count < 108)
            #expect(
                try String(contentsOfFile: "/proc/\(service.pid!)/environ", encoding: .utf8)
                    .split(separator: "\0").contains("NOTIFY_SOCKET=\(socket.path)"[...]))
            let (status, _, _) = try service.terminate(signal: SIGTERM)
            #expect(status == 0)
        }
    }
}
