import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The HTTP API of `hearingai watch` end to end: the real binary, real HTTP over loopback and
/// a unix socket, `curl` and OpenAI's own Python client as the clients.
@Suite("hearingai watch HTTP API", .serialized, .timeLimit(.minutes(10)))
struct APITests {
    static let short = TestPaths.fixture("speech/short.wav")
    /// 61 s: two or three chunks, so a request is still waiting while it is transcribed.
    static let conversation = TestPaths.fixture("speech/conversation.wav")
    static let token = "test-token-\(UInt64.random(in: 0...UInt64.max))"

    /// A service with the API on an ephemeral loopback port, with one token.
    static func startService(_ extra: [String] = [], environment: [String: String] = [:]) throws -> (ServiceProcess, API) {
        let service = try ServiceProcess(environment: environment)
        let tokens = service.root.appendingPathComponent("tokens")
        try Data("# the test's token\n\(token)\n".utf8).write(to: tokens)
        service.watchArguments += ["--listen", "127.0.0.1:0", "--api-token-file", tokens.path] + extra
        try service.start()
        return (service, try API(service: service, token: token))
    }

    /// The transcript's words, for comparing a response with the outbox: lower case, no
    /// speaker labels, no punctuation.
    static func words(_ text: String) -> [String] {
        text.lowercased().split(whereSeparator: { $0.isWhitespace }).map(String.init)
            .filter { !($0.hasPrefix("speaker") || $0.hasSuffix(":") || Int($0.trimmingCharacters(in: .punctuationCharacters)) != nil) }
            .map { $0.trimmingCharacters(in: .punctuationCharacters) }.filter { !$0.isEmpty }
    }

    static var referenceWords: [String] { words(Reference.short) }

    // MARK: - The OpenAI-compatible endpoint

    @Test("OpenAI's Python client transcribes through the endpoint in every response format; so does curl")
    func openAIClient() throws {
        let (service, api) = try Self.startService()
        defer { service.cleanup() }
        #expect(!Self.referenceWords.isEmpty)

        let script = """
            import json, sys
            from openai import OpenAI
            client = OpenAI(base_url=sys.argv[1], api_key=sys.argv[2], max_retries=0, timeout=120)
            out = {}
            for fmt in ["json", "text", "srt", "vtt", "verbose_json"]:
                with open(sys.argv[3], "rb") as f:
                    kwargs = {"timestamp_granularities": ["word", "segment"]} if fmt == "verbose_json" else {}
                    r = client.audio.transcriptions.create(model="whisper-1", file=f, response_format=fmt, **kwargs)
                if fmt in ("json",):
                    out[fmt] = r.text
                elif fmt == "verbose_json":
                    out[fmt] = {"text": r.text, "language": r.language, "duration": r.duration,
                                "segments": len(r.segments or []), "words": [w.word for w in (r.words or [])]}
                else:
                    out[fmt] = r if isinstance(r, str) else str(r)
            print(json.dumps(out))
            """
        let result = try runProcess(
            TestTools.python, ["-c", script, "http://127.0.0.1:\(api.port)/v1", Self.token, Self.short])
        #expect(result.status == 0, "\(result.stderr)")
        let out = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(Self.words(out["json"] as? String ?? "") == Self.referenceWords)
        #expect(Self.words(out["text"] as? String ?? "") == Self.referenceWords)
        let srt = out["srt"] as? String ?? ""
        #expect(srt.hasPrefix("1\n") && srt.contains(" --> "), "\(srt)")
        let vtt = out["vtt"] as? String ?? ""
        #expect(vtt.hasPrefix("WEBVTT"), "\(vtt)")
        let verbose = out["verbose_json"] as? [String: Any] ?? [:]
        #expect(Self.words(verbose["text"] as? String ?? "") == Self.referenceWords)
        #expect(verbose["language"] as? String == "english")
        #expect(abs((verbose["duration"] as? Double ?? 0) - 4.73) < 0.1)
        #expect((verbose["segments"] as? Int ?? 0) >= 1)
        #expect(Self.words((verbose["words"] as? [String] ?? []).joined(separator: " ")) == Self.referenceWords)

        // The same through curl, as a shell script would.
        for (format, check) in [("json", "\"text\""), ("text", "father"), ("srt", " --> "), ("vtt", "WEBVTT")] {
            let response = try api.curl([
                "-F", "file=@\(Self.short)", "-F", "model=whisper-1", "-F", "response_format=\(format)",
                "\(api.base)/v1/audio/transcriptions",
            ])
            #expect(response.status == 200, "\(format): \(response.body)")
            #expect(response.body.contains(check))
        }
        // Each request was one job with its own complete output set in the outbox.
        try service.waitUntil("9 sources in processed/") { ServiceProcess.names(service.processed).count == 9 }
        #expect(ServiceProcess.names(service.outbox).count == 18)
        #expect(ServiceProcess.names(service.failed) == [])

        // Watching for the client to go away ends the connection after each answer, so every
        // answer, transcript or error, says `Connection: close`: a client that kept the
        // connection for its next request lost it (OpenAI's client on a loaded CI machine:
        // "Server disconnected without sending a response").
        for (form, status) in [(["-F", "model=whisper-1"], "200"), (["-F", "response_format=xml"], "400")] {
            let answer = try runProcess(
                "/usr/bin/curl",
                api.curlArguments(
                    ["-F", "file=@\(Self.short)"] + form + ["-o", "/dev/null", "-D", "-", "\(api.base)/v1/audio/transcriptions"]))
            let head = answer.stdout.lowercased()
            #expect(head.hasPrefix("http/1.1 \(status)") && head.contains("connection: close"), "\(answer.stdout)")
        }
        #expect(!service.allLogs.contains(Self.token), "a token reached the log")
    }

    // MARK: - The jobs API

    @Test("POST /v1/jobs answers 202; the job is listed, paged, served as every format, retried and forgotten")
    func jobsAPI() throws {
        let (service, api) = try Self.startService()
        defer { service.cleanup() }
        let created = try api.curl(["-F", "file=@\(Self.short);filename=meeting.wav", "\(api.base)/v1/jobs"])
        #expect(created.status == 202, "\(created.body)")
        let job = try created.json()
        let id = job["id"] as? Int ?? -1
        #expect(job["state"] as? String == "queued")
        #expect(job["origin"] as? String == "api")
        #expect(job["file_name"] as? String == "meeting.wav")

        var done: [String: Any] = [:]
        try service.waitUntil("job \(id) done") {
            done = try api.curl(["\(api.base)/v1/jobs/\(id)"]).json()
            return done["state"] as? String == "done"
        }
        #expect((done["transcripts"] as? [String: String])?["txt"] == "/v1/jobs/\(id)/transcript.txt")
        let txt = try api.curl(["\(api.base)/v1/jobs/\(id)/transcript.txt"])
        #expect(txt.status == 200)
        #expect(txt.body == (try String(contentsOf: service.outbox.appendingPathComponent("meeting.txt"), encoding: .utf8)))
        for format in ["json", "srt", "vtt", "md"] {
            let response = try api.curl(["\(api.base)/v1/jobs/\(id)/transcript.\(format)"])
            #expect(response.status == 200, "\(format): \(response.body)")
            #expect(Self.words(response.body).contains("nothing") || !response.body.isEmpty)
        }
        #expect(try api.curl(["\(api.base)/v1/jobs/\(id)/transcript.exe"]).status == 404)
        #expect(ServiceProcess.names(service.processed) == ["meeting.wav"])

        // A file that is not audio fails, with its reason, and can be retried.
        let garbage = service.root.appendingPathComponent("garbage.wav")
        try Data(repeating: 0x41, count: 5000).write(to: garbage)
        let bad = try api.curl(["-F", "file=@\(garbage.path)", "\(api.base)/v1/jobs"]).json()
        let badID = bad["id"] as? Int ?? -1
        var failed: [String: Any] = [:]
        try service.waitUntil("job \(badID) failed") {
            failed = try api.curl(["\(api.base)/v1/jobs/\(badID)"]).json()
            return failed["state"] as? String == "failed"
        }
        #expect((failed["error"] as? String ?? "").isEmpty == false)
        #expect(try api.curl(["\(api.base)/v1/jobs/\(badID)/transcript.txt"]).status == 409)
        let retried = try api.curl(["-X", "POST", "\(api.base)/v1/jobs/\(badID)/retry"])
        #expect(retried.status == 202, "\(retried.body)")
        try service.waitUntil("job \(badID) failed again") {
            let job = try api.curl(["\(api.base)/v1/jobs/\(badID)"]).json()
            return job["state"] as? String == "failed" && (job["attempts"] as? Int ?? 0) >= 1
        }
        #expect(try api.curl(["-X", "POST", "\(api.base)/v1/jobs/\(id)/retry"]).status == 409)

        // Listing: newest first, paged, filtered by state.
        let page = try api.curl(["\(api.base)/v1/jobs?limit=1"]).json()
        #expect((page["data"] as? [[String: Any]])?.first?["id"] as? Int == badID)
        #expect(page["has_more"] as? Bool == true)
        let next = page["next"] as? String ?? ""
        let second = try api.curl(["\(api.base)\(next)"]).json()
        #expect((second["data"] as? [[String: Any]])?.map { $0["id"] as? Int } == [id])
        #expect(second["has_more"] as? Bool == false)
        let doneOnly = try api.curl(["\(api.base)/v1/jobs?state=done"]).json()
        #expect((doneOnly["data"] as? [[String: Any]])?.map { $0["id"] as? Int } == [id])
        #expect(try api.curl(["\(api.base)/v1/jobs?state=bogus"]).status == 400)

        // The metrics count what happened, through the same token.
        #expect(try api.curl(["\(api.base)/metrics"], token: .some(nil)).status == 401)
        let metrics = try api.curl(["\(api.base)/metrics"])
        #expect(metrics.status == 200)
        let enqueued = metrics.body.split(separator: "\n").first { $0.hasPrefix("hearingai_jobs_enqueued_total{source=\"api\"}") }
        #expect(enqueued.flatMap { Double($0.split(separator: " ").last ?? "") } == 2, "\(enqueued ?? "no api line")")

        // Forgetting a finished job removes its record, not its files.
        let forgotten = try api.curl(["-X", "DELETE", "\(api.base)/v1/jobs/\(id)"])
        #expect(forgotten.status == 200)
        #expect(try forgotten.json()["deleted"] as? Bool == true)
        #expect(try api.curl(["\(api.base)/v1/jobs/\(id)"]).status == 404)
        #expect(ServiceProcess.names(service.outbox).contains("meeting.txt"))
    }

    // MARK: - Refusals

    @Test("401 without or with a wrong token, 413 over the cap, 400 on malformed input, 404 on unknown jobs; all JSON, no job left")
    func refusals() throws {
        let (service, api) = try Self.startService(["--max-upload-mb", "1"])
        defer { service.cleanup() }
        let missing = try api.curl(["\(api.base)/v1/jobs"], token: .some(nil))
        #expect(missing.status == 401)
        #expect(try missing.errorCode() == "missing_token")
        let wrong = try api.curl(["\(api.base)/v1/jobs"], token: Self.token + "x")
        #expect(wrong.status == 401)
        #expect(try wrong.errorCode() == "invalid_token")
        #expect(try api.curl(["\(api.base)/healthz"], token: .some(nil)).status == 200)
        #expect(try api.curl(["\(api.base)/readyz"], token: .some(nil)).status == 200)

        let big = service.root.appendingPathComponent("big.wav")
        try Data(repeating: 1, count: 3 * 1_048_576).write(to: big)
        let tooLarge = try api.curl(["-F", "file=@\(big.path)", "\(api.base)/v1/jobs"])
        #expect(tooLarge.status == 413, "\(tooLarge.body)")
        #expect(try tooLarge.errorCode() == "file_too_large")
        // Past the cap without a length up front (chunked): refused once the cap is crossed.
        let chunked = try api.curl(["-H", "Transfer-Encoding: chunked", "-F", "file=@\(big.path)", "\(api.base)/v1/jobs"])
        #expect(chunked.status == 413, "\(chunked.body)")

        let noFile = try api.curl(["-F", "model=whisper-1", "\(api.base)/v1/audio/transcriptions"])
        #expect(noFile.status == 400)
        #expect(try noFile.errorCode() == "missing_file")
        let notMultipart = try api.curl(["-H", "Content-Type: application/json", "-d", "{}", "\(api.base)/v1/jobs"])
        #expect(notMultipart.status == 400)
        let truncated = try api.curl([
            "-H", "Content-Type: multipart/form-data; boundary=XYZ", "--data-binary",
            "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF....", "\(api.base)/v1/jobs",
        ])
        #expect(truncated.status == 400, "\(truncated.body)")
        #expect(try truncated.errorCode() == "invalid_multipart")
        let badFormat = try api.curl(["-F", "file=@\(Self.short)", "-F", "response_format=mp3", "\(api.base)/v1/audio/transcriptions"])
        #expect(badFormat.status == 400)
        #expect(try badFormat.errorCode() == "invalid_response_format")
        let french = try api.curl(["-F", "file=@\(Self.short)", "-F", "language=fr", "\(api.base)/v1/audio/transcriptions"])
        #expect(french.status == 400)
        #expect(try french.errorCode() == "unsupported_language")
        #expect(try api.curl(["\(api.base)/v1/jobs/12345"]).status == 404)
        #expect(try api.curl(["\(api.base)/v1/jobs/abc"]).errorCode() == "job_not_found")
        #expect(try api.curl(["\(api.base)/nowhere"]).status == 404)

        // Nothing refused became a job or left a file behind.
        #expect(try (api.curl(["\(api.base)/v1/jobs"]).json()["data"] as? [Any])?.isEmpty == true)
        let uploads = service.inbox.appendingPathComponent(".hearingai-uploads")
        #expect(ServiceProcess.names(uploads).isEmpty)
        #expect(ServiceProcess.names(service.work).isEmpty)
        #expect(service.isRunning)
    }

    @Test("An uploaded name is never a path: traversal and control characters stay a label")
    func uploadedNamesAreNotPaths() throws {
        let (service, api) = try Self.startService()
        defer { service.cleanup() }
        let sneaky = try api.curl([
            "-F", "file=@\(Self.short);filename=../../../../tmp/escape.wav", "-F", "response_format=text",
            "\(api.base)/v1/audio/transcriptions",
        ])
        #expect(sneaky.status == 200)
        let hidden = try api.curl(["-F", "file=@\(Self.short);filename=..", "\(api.base)/v1/jobs"]).json()
        #expect(hidden["file_name"] as? String == "upload")
        try service.waitUntil("both in processed/") { ServiceProcess.names(service.processed).count == 2 }
        #expect(Set(ServiceProcess.names(service.processed)) == ["escape.wav", "upload"])
        #expect(ServiceProcess.names(service.outbox).contains("escape.txt"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/escape.wav"))
        #expect(!FileManager.default.fileExists(atPath: service.root.appendingPathComponent("escape.wav").path))
    }

    // MARK: - Listeners

    @Test("A TCP listener without tokens refuses to start; a unix socket serves by its permissions (0660)")
    func listeners() throws {
        let refused = try ServiceProcess()
        defer { refused.cleanup() }
        refused.watchArguments += ["--listen", "127.0.0.1:0"]
        try refused.start(waitUntilReady: false)
        #expect(try refused.waitForExit(timeout: 30) == 1)
        #expect(refused.log().contains("--api-token-file"), "\(refused.log())")

        let service = try ServiceProcess()
        defer { service.cleanup() }
        let socket = service.root.appendingPathComponent("api.sock").path
        // A stale socket a crash left is replaced.
        let stale = try UnixSocket.bind(socket)
        close(stale)
        service.watchArguments += ["--listen", "unix:\(socket)"]
        try service.start()
        try service.waitForLog("API listening")
        var st = stat()
        #expect(lstat(socket, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o660)
        let result = try runProcess(
            "/usr/bin/curl",
            [
                "-sS", "--unix-socket", socket, "-F", "file=@\(Self.short)", "-F", "response_format=text",
                "http://localhost/v1/audio/transcriptions",
            ])
        #expect(Self.words(result.stdout) == Self.referenceWords, "\(result.stdout) \(result.stderr)")
        _ = try service.terminate()
        #expect(!FileManager.default.fileExists(atPath: socket), "the socket is removed on stop")
    }

    // MARK: - Load and failure

    @Test("50 uploads at once become exactly 50 jobs, each with one output set")
    func concurrentUploads() async throws {
        let (service, api) = try Self.startService()
        defer { service.cleanup() }
        let count = 50
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 1...count {
                group.addTask {
                    try api.curl(["-F", "file=@\(Self.short);filename=u\(index).wav", "\(api.base)/v1/jobs"]).status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 202, count: count))
        try service.waitUntil("\(count) sources in processed/", timeout: 300) { ServiceProcess.names(service.processed).count == count }
        try await Task.sleep(for: .seconds(1))
        let jobs = try api.curl(["\(api.base)/v1/jobs?limit=500"]).json()["data"] as? [[String: Any]] ?? []
        #expect(jobs.count == count)
        #expect(jobs.allSatisfy { $0["state"] as? String == "done" })
        #expect(Set(jobs.compactMap { $0["file_name"] as? String }) == Set((1...count).map { "u\($0).wav" }))
        #expect(ServiceProcess.names(service.outbox).count == 2 * count)
        #expect(ServiceProcess.names(service.failed).isEmpty)
    }

    @Test("kill -9 during an upload leaves no job and no partial file")
    func killDuringUpload() throws {
        let (service, api) = try Self.startService()
        defer { service.cleanup() }
        let big = service.root.appendingPathComponent("big.wav")
        try Data(repeating: 7, count: 20 * 1_048_576).write(to: big)
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = api.curlArguments(["--limit-rate", "1M", "-F", "file=@\(big.path)", "\(api.base)/v1/jobs"])
        curl.standardOutput = FileHandle.nullDevice
        curl.standardError = FileHandle.nullDevice
        try curl.run()
        defer { if curl.isRunning { kill(curl.processIdentifier, SIGKILL) } }
        let uploads = service.inbox.appendingPathComponent(".hearingai-uploads")
        try service.waitUntil("an upload under way") {
            ServiceProcess.names(uploads).contains { name in
                ((try? FileManager.default.attributesOfItem(atPath: uploads.appendingPathComponent(name).path)[.size] as? Int) ?? 0) > 0
            }
        }
        try service.kill9()
        curl.waitUntilExit()
        #expect(!ServiceProcess.names(uploads).isEmpty, "the partial file is there after the kill")

        try service.start()
        let restarted = try API(service: service, token: Self.token)
        #expect(ServiceProcess.names(uploads).isEmpty, "startup removed the partial upload")
        #expect(try (restarted.curl(["\(restarted.base)/v1/jobs"]).json()["data"] as? [Any])?.isEmpty == true)
        #expect(ServiceProcess.names(service.work).isEmpty)
        #expect(ServiceProcess.names(service.failed).isEmpty)
    }

    @Test("A client that goes away cancels its job: failed with the reason, the source in failed/")
    func disconnectCancels() throws {
        let (service, api) = try Self.startService()
        defer { service.cleanup() }
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = api.curlArguments(["-F", "file=@\(Self.conversation)", "\(api.base)/v1/audio/transcriptions"])
        curl.standardOutput = FileHandle.nullDevice
        curl.standardError = FileHandle.nullDevice
        try curl.run()
        try service.waitForLog("Transcription started")
        // SIGKILL: the test process may ignore SIGTERM (its signal handling), and a child
        // inherits that.
        kill(curl.processIdentifier, SIGKILL)
        curl.waitUntilExit()
        // The job stops once the chunks in flight are decoded and checkpointed.
        try service.waitUntil("the cancelled job failed", timeout: 240) {
            ServiceProcess.names(service.failed).contains("conversation.wav")
        }
        let jobs = try api.curl(["\(api.base)/v1/jobs"]).json()["data"] as? [[String: Any]] ?? []
        #expect(jobs.first?["state"] as? String == "failed")
        let reason = jobs.first?["error"] as? String ?? ""
        #expect(reason.contains("cancelled"), "\(reason)")
        #expect(ServiceProcess.names(service.outbox).allSatisfy { !$0.hasPrefix("conversation.") })
        #expect(service.isRunning)
    }

    @Test("SIGTERM drains: a waiting client is told where its job is, the job survives the restart and completes")
    func sigtermDrains() throws {
        let (service, api) = try Self.startService()
        defer { service.cleanup() }
        let output = service.root.appendingPathComponent("response.json")
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = api.curlArguments(["-o", output.path, "-F", "file=@\(Self.conversation)", "\(api.base)/v1/audio/transcriptions"])
        curl.standardError = FileHandle.nullDevice
        try curl.run()
        try service.waitForLog("Transcription started")
        let stopped = try service.terminate(timeout: 120)
        #expect(stopped.status == 0)
        curl.waitUntilExit()
        let body = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        #expect(body.contains("shutting_down"), "\(body)")
        #expect(body.contains("/v1/jobs/1"))

        try service.start()
        let restarted = try API(service: service, token: Self.token)
        try service.waitUntil("conversation.wav in processed/", timeout: 300) {
            ServiceProcess.names(service.processed) == ["conversation.wav"]
        }
        let job = try restarted.curl(["\(restarted.base)/v1/jobs/1"]).json()
        #expect(job["state"] as? String == "done")
    }

    @Test("A client that stalls mid-upload is disconnected after the idle timeout; the service goes on")
    func slowClientTimedOut() throws {
        let (service, api) = try Self.startService(environment: ["HEARINGAI_API_IDLE_TIMEOUT_SECONDS": "1"])
        defer { service.cleanup() }
        let fd = try UnixSocket.connectTCP(port: api.port)
        defer { close(fd) }
        let head =
            "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(Self.token)\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000\r\n\r\n--B\r\n"
        _ = head.withCString { write(fd, $0, strlen($0)) }
        let started = Date()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while read(fd, &buffer, buffer.count) > 0 {}
        let waited = Date().timeIntervalSince(started)
        #expect(waited < 10, "closed after \(waited) s")
        #expect(try api.curl(["\(api.base)/healthz"]).status == 200)
        #expect(ServiceProcess.names(service.inbox.appendingPathComponent(".hearingai-uploads")).isEmpty)
    }
}

/// The tools the API tests run.
enum TestTools {
    /// The Python with OpenAI's client: `$HEARINGAI_TEST_PYTHON`, or the venv `make test`
    /// makes (`.venv-test`).
    static var python: String {
        ProcessInfo.processInfo.environment["HEARINGAI_TEST_PYTHON"]
            ?? TestPaths.packageRoot.appendingPathComponent(".venv-test/bin/python").path
    }
}

/// A running service's API, reached with curl.
struct API: Sendable {
    let port: Int
    let token: String?
    var base: String { "http://127.0.0.1:\(port)" }

    /// Finds the port the service's API listens on, from its "API listening" log line.
    init(service: ServiceProcess, token: String?) throws {
        try service.waitForLog("API listening")
        let line = service.lines(containing: "API listening", run: service.runCount).last ?? ""
        guard let range = line.range(of: "api.port="), let port = Int(line[range.upperBound...].prefix(while: \.isNumber)) else {
            throw ServiceTestError("no port in: \(line)")
        }
        self.port = port
        self.token = token
    }

    struct Response {
        var status: Int
        var body: String
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
                throw ServiceTestError("not a JSON object: \(body)")
            }
            return object
        }
        /// `error.code` of a JSON error.
        func errorCode() throws -> String? { (try json()["error"] as? [String: Any])?["code"] as? String }
    }

    func curlArguments(_ arguments: [String], token: String?? = .none) -> [String] {
        let token = token ?? self.token
        return ["-sS", "--max-time", "300"] + (token.map { ["-H", "Authorization: Bearer \($0)"] } ?? []) + arguments
    }

    /// Runs curl with `arguments` (and the token unless `token` overrides it) and returns the
    /// status and body.
    func curl(_ arguments: [String], token: String?? = .none) throws -> Response {
        let result = try runProcess("/usr/bin/curl", curlArguments(arguments + ["-w", "\n%{http_code}"], token: token))
        guard result.status == 0 else { throw ServiceTestError("curl \(arguments) failed: \(result.stderr)") }
        var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.popLast() ?? "") ?? 0
        return Response(status: status, body: lines.joined(separator: "\n"))
    }
}

/// Raw sockets for what curl will not do (a stale socket file, a stalled request).
enum UnixSocket {
    /// Binds a unix socket at `path` and returns it (left there when closed, as a crash leaves it).
    static func bind(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw ServiceTestError("bind \(path): errno \(errno)") }
        return fd
    }

    /// A TCP connection to loopback `port`.
    static func connectTCP(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw ServiceTestError("connect: errno \(errno)") }
        return fd
    }
}
