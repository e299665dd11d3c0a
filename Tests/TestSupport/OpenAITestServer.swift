import Foundation

/// scripts/openai-server.py, started on a free loopback port for one test and stopped with it.
///
/// The server speaks OpenAI's transcription protocol, checks every request strictly, answers
/// from the audio it receives with `pocketsphinx_continuous`, injects the faults it is given,
/// and logs every request as a JSON line that ``requests()`` reads back.
public final class OpenAITestServer: @unchecked Sendable {
    /// The port it listens on.
    public let port: Int
    /// `http://127.0.0.1:PORT/v1`.
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    private let process: Process
    private let directory: URL
    private var logPath: String { directory.appendingPathComponent("requests.jsonl").path }

    /// Starts the server with `arguments` (`--fault 429`, `--api-key K`, `--no-words`, ...).
    public init(_ arguments: [String] = []) throws {
        directory = try temporaryDirectory(prefix: "hearingai-openai")
        let portFile = directory.appendingPathComponent("port").path
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "python3", TestPaths.packageRoot.appendingPathComponent("scripts/openai-server.py").path,
                "--port", "0", "--port-file", portFile, "--log", directory.appendingPathComponent("requests.jsonl").path,
            ]
            + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        var found: Int?
        while Date() < deadline, process.isRunning {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let value = Int(text) {
                found = value
                break
            }
            usleep(20_000)
        }
        guard let found else {
            process.terminate()
            throw ServerError(description: "scripts/openai-server.py did not start")
        }
        port = found
    }

    /// One logged request.
    public struct Request: Decodable, Sendable {
        /// When it arrived (Unix seconds).
        public var time: Double
        /// How long the server took to answer it.
        public var seconds: Double?
        public var path: String
        public var status: Int
        public var message: String?
        public var fault: String?
        public var auth: Bool?
        public var fields: [String: [String]]?
        public var filename: String?
        public var file_content_type: String?
        public var rate: Int?
        public var channels: Int?
        public var bits: Int?
        public var audio_seconds: Double?
        public var words: Int?
    }

    /// Every request so far, in arrival order.
    public func requests() throws -> [Request] {
        guard let data = FileManager.default.contents(atPath: logPath) else { return [] }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try JSONDecoder().decode(Request.self, from: Data($0.utf8))
        }
    }

    /// Stops the server and removes its files.
    public func stop() {
        if process.isRunning {
            process.terminate()
            // Poll rather than waitUntilExit(), which spins a run loop; SIGKILL if it lingers.
            let deadline = Date().addingTimeInterval(3)
            while process.isRunning, Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }

    struct ServerError: Error, CustomStringConvertible {
        var description: String
    }
}
