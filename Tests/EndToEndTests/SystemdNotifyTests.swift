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
    /// A bound AF_UNIX datagram socket that collects messages.
    final class NotifySocket {
        let path: String
        let fd: Int32

        init(path: String) throws {
            self.path = path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0 else { throw CocoaError(.fileWriteUnknown) }
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit {
            close(fd)
            unlink(path)
        }

        /// Messages received until `predicate` holds for the list or `seconds` pass.
        func receive(for seconds: Double, until predicate: ([String]) -> Bool) -> [String] {
            var messages: [String] = []
            let deadline = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while Date() < deadline, !predicate(messages) {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 { messages.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
            }
            return messages
        }
    }

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
}
