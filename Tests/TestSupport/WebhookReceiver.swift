import Foundation

/// scripts/webhook-receiver.py on loopback: the receiver a test points `--webhook-url` at.
///
/// It verifies each request's signature with Python's `hmac`, answers the status it is
/// started with, and logs every request, which ``requests()`` reads back. ``stop()`` and
/// ``start(status:)`` take it down and bring it back on the same port, for "receiver down, then
/// up". Its files (the log, the secret) outlive a stop, so requests from every start are kept.
public final class WebhookReceiver: @unchecked Sendable {
    /// The port it listens on (kept across restarts).
    public private(set) var port: Int = 0
    /// `http://127.0.0.1:PORT/hook`.
    public var url: String { "http://127.0.0.1:\(port)/hook" }
    /// The file holding the shared secret, for `--webhook-secret-file`.
    public let secretFile: String
    /// The secret itself, to check that no log shows it.
    public let secret: String

    private var process: Process?
    private let directory: URL
    private var logPath: String { directory.appendingPathComponent("requests.jsonl").path }

    /// Writes `secret` to a file and starts the receiver on a free port, answering `status`.
    public init(secret: String = "test-secret-\(UInt32.random(in: 0...UInt32.max))", status: Int = 200) throws {
        directory = try temporaryDirectory(prefix: "hearingai-webhooks")
        secretFile = directory.appendingPathComponent("secret").path
        self.secret = secret
        try Data((secret + "\n").utf8).write(to: URL(fileURLWithPath: secretFile))
        try start(status: status)
    }

    /// Starts it (again, on the same port once it has one), answering `status`, or 302 to
    /// `redirect`, after `delay` seconds.
    public func start(status: Int = 200, redirect: String? = nil, delay: Double = 0) throws {
        stop(removingFiles: false)
        let portFile = directory.appendingPathComponent("port").path
        try? FileManager.default.removeItem(atPath: portFile)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        child.arguments =
            [
                "python3", TestPaths.packageRoot.appendingPathComponent("scripts/webhook-receiver.py").path,
                "--port", "\(port)", "--port-file", portFile, "--log", logPath, "--secret-file", secretFile, "--status", "\(status)",
            ] + (redirect.map { ["--redirect", $0] } ?? []) + ["--delay", "\(delay)"]
        child.standardOutput = FileHandle.nullDevice
        try child.run()
        process = child
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline, child.isRunning {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let value = Int(text) {
                port = value
                return
            }
            usleep(20_000)
        }
        stop(removingFiles: false)
        throw ReceiverError(description: "scripts/webhook-receiver.py did not start")
    }

    /// One request the receiver got.
    public struct Request: Decodable, Sendable {
        public var time: Double
        public var path: String
        public var event: String?
        public var event_id: String?
        public var signature: String
        public var signature_ok: Bool
        public var content_type: String?
        public var body: String
        public var status: Int

        /// The body as a JSON object.
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        }
    }

    /// Every request so far, from every start, in arrival order.
    public func requests() throws -> [Request] {
        guard let data = FileManager.default.contents(atPath: logPath) else { return [] }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try JSONDecoder().decode(Request.self, from: Data($0.utf8))
        }
    }

    /// Stops the receiver (the port refuses connections until ``start(status:redirect:delay:)``).
    public func stop() { stop(removingFiles: false) }

    private func stop(removingFiles: Bool) {
        if let process, process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(3)
            while process.isRunning, Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        process = nil
        if removingFiles { try? FileManager.default.removeItem(at: directory) }
    }

    deinit { stop(removingFiles: true) }

    struct ReceiverError: Error, CustomStringConvertible {
        var description: String
    }
}
