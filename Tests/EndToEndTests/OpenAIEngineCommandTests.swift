import Foundation
import TestSupport
import Testing

/// `hearingai --engine openai` and `hearingai watch --engine openai`, the real binary against
/// scripts/openai-server.py on loopback, which answers with pocketsphinx_continuous on the
/// audio it receives.
@Suite("The OpenAI-compatible engine, end to end", .serialized)
struct OpenAIEngineCommandTests {
    static let conversation = TestPaths.fixture("speech/conversation.wav")

    /// `hearingai ARGS` with no key from the test's own environment unless given.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        try BinaryRunner.run(arguments, environment: ["OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""].merging(environment) { $1 })
    }

    static func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
    }

    static func words(_ json: [String: Any]) -> [[String: Any]] {
        (json["segments"] as? [[String: Any]] ?? []).flatMap { $0["words"] as? [[String: Any]] ?? [] }
    }

    /// `pocketsphinx_continuous` on the whole file: (word, start) on the file's clock.
    static func rawEngineWords(_ path: String) throws -> [(String, Double)] {
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("16k.wav").path
        let sox = Process()
        sox.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sox.arguments = ["sox", path, "-r", "16000", "-c", "1", "-b", "16", wav]
        try sox.run()
        sox.waitUntilExit()
        let ps = Process()
        ps.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        ps.arguments = ["pocketsphinx_continuous", "-infile", wav, "-time", "yes", "-logfn", "/dev/null"]
        let pipe = Pipe()
        ps.standardOutput = pipe
        try ps.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ps.waitUntilExit()
        return out.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 4, let start = Double(parts[1]), Double(parts[2]) != nil,
                !parts[0].hasPrefix("<"), !parts[0].hasPrefix("[")
            else { return nil }
            let word = parts[0].split(separator: "(").first.map(String.init) ?? String(parts[0])
            return (word, start)
        }
    }

    @Test("Chunks go up as 16 kHz mono WAVs; the words come back in order on the file's clock")
    func wordsOnTheFilesClock() throws {
        let server = try OpenAITestServer()
        defer { server.stop() }
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Self.run([
            "--engine", "openai", "--base-url", server.baseURL, "--model", "whisper-1", "--language", "en",
            Self.conversation, "--chunk-size", "8", "--max-workers", "2", "-f", "txt,json", "-o", dir.path + "/",
            "--cache-dir", dir.appendingPathComponent("cache").path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try Self.json(dir.appendingPathComponent("conversation.json"))
        let metadata = json["metadata"] as? [String: Any] ?? [:]
        #expect(metadata["engine"] as? String == "openai")
        #expect((metadata["model"] as? String)?.contains("url=\(server.baseURL)/audio/transcriptions") == true)
        #expect(metadata["wordTimes"] as? String == "engine")
        let chunks = (metadata["chunking"] as? [String: Any])?["chunks"] as? Int ?? 0
        #expect(chunks >= 6)

        // One request per chunk, each a valid 16 kHz mono 16-bit WAV of about the chunk's length.
        let requests = try server.requests()
        #expect(requests.count == chunks)
        #expect(requests.allSatisfy { $0.status == 200 && $0.rate == 16_000 && $0.channels == 1 && $0.bits == 16 })
        #expect(requests.dropLast().allSatisfy { ($0.audio_seconds ?? 0) > 6 && ($0.audio_seconds ?? 99) < 12 })
        #expect(requests.allSatisfy { $0.fields?["language"] == ["en"] && $0.fields?["model"] == ["whisper-1"] })
        // Context runs of 8 by default: chunk 0 goes cold, the others of its run with the text before them.
        let prompted = requests.filter { $0.fields?["prompt"] != nil }.compactMap(\.filename).sorted()
        #expect(prompted == (1..<min(chunks, 8)).map { "chunk-\($0).wav" }.sorted())

        // The words, in order, where the engine heard them in the whole file.
        let words = Self.words(json)
        let starts = words.compactMap { $0["start"] as? Double }
        #expect(starts.count == words.count && starts == starts.sorted())
        let whole = try Self.rawEngineWords(Self.conversation)
        let matched = words.filter { word in
            // Ours are sentence-cased (the server's engine writes lower case).
            let text = (word["text"] as? String ?? "").lowercased()
            let start = word["start"] as? Double ?? -1
            return whole.contains { $0.0 == text && abs($0.1 - start) < 0.3 }
        }
        #expect(
            Double(matched.count) >= 0.9 * Double(words.count),
            "\(matched.count) of \(words.count) words where the whole-file decode has them")
        #expect(Double(words.count) >= 0.95 * Double(whole.count), "no words lost at chunk boundaries: \(words.count) vs \(whole.count)")

        let text = try String(contentsOf: dir.appendingPathComponent("conversation.txt"), encoding: .utf8)
        let reference = try String(contentsOfFile: TestPaths.fixture("speech/conversation.txt"), encoding: .utf8)
        let spoken = text.split(separator: "\n").map { line in
            line.split(separator: ":", maxSplits: 1).last.map(String.init) ?? String(line)
        }.joined(separator: " ")
        #expect(wordErrorRate(reference: reference, hypothesis: spoken) <= 0.05)
    }

    @Test("The API key goes only into the Authorization header: not in outputs, logs, checkpoints or errors")
    func keyNeverWritten() throws {
        let secret = "sk-e2e-\(UUID().uuidString)"
        let server = try OpenAITestServer(["--api-key", secret])
        defer { server.stop() }
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = dir.appendingPathComponent("cache")
        let ok = try Self.run(
            [
                "--engine", "openai", "--base-url", server.baseURL, TestPaths.fixture("speech/short.wav"), "--verbose", "--show-chunks",
                "-f", "txt,json,srt,vtt,md", "-o", dir.path + "/", "--cache-dir", cache.path,
            ],
            environment: ["OPENAI_API_KEY": secret])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try server.requests().allSatisfy { $0.auth == true })
        var everything = ok.stdout + ok.stderr
        let files = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? []
        for file in files where !file.hasDirectoryPath {
            everything += String(decoding: (try? Data(contentsOf: file)) ?? Data(), as: UTF8.self)
        }
        #expect(files.count >= 5)
        #expect(!everything.contains(secret))

        let refused = try Self.run(
            ["--engine", "openai", "--base-url", server.baseURL, TestPaths.fixture("speech/short.wav"), "-o", dir.path + "/wrong.txt"],
            environment: ["OPENAI_API_KEY": "sk-wrong-\(secret)"])
        #expect(refused.status == 1)
        let lines = refused.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("refused the API key (HTTP 401)") == true, "\(refused.stderr)")
        #expect(lines.first?.contains("OPENAI_API_KEY") == true)
        #expect(!refused.stderr.contains(secret))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("wrong.txt").path))
    }

    @Test("Faults on the way: 429 with Retry-After, then 500, then a malformed answer ends the run with one line naming the chunk")
    func faults() throws {
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let recovering = try OpenAITestServer(["--fault", "429", "--retry-after", "1", "--fault", "500"])
        defer { recovering.stop() }
        let ok = try Self.run([
            "--engine", "openai", "--base-url", recovering.baseURL, TestPaths.fixture("speech/short.wav"),
            "-o", dir.appendingPathComponent("ok.txt").path, "--no-diarization",
        ])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try recovering.requests().map(\.status) == [429, 500, 200])
        #expect(try String(contentsOf: dir.appendingPathComponent("ok.txt"), encoding: .utf8).isEmpty == false)

        let broken = try OpenAITestServer(["--fault", "malformedx0"])
        defer { broken.stop() }
        let failed = try Self.run([
            "--engine", "openai", "--base-url", broken.baseURL, TestPaths.fixture("speech/short.wav"),
            "-o", dir.appendingPathComponent("broken.txt").path,
        ])
        #expect(failed.status == 1)
        #expect(failed.stderr.split(separator: "\n").count == 1)
        #expect(failed.stderr.contains("chunk 0 (0.0–"), "\(failed.stderr)")
        #expect(failed.stderr.contains("malformed response from \(broken.baseURL)/audio/transcriptions"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("broken.txt").path))

        let hanging = try OpenAITestServer(["--fault", "hangx0", "--hang-seconds", "30"])
        defer { hanging.stop() }
        let timedOut = try Self.run([
            "--engine", "openai", "--base-url", hanging.baseURL, TestPaths.fixture("speech/short.wav"),
            "--request-timeout", "1", "--retries", "1", "-o", dir.appendingPathComponent("hang.txt").path,
        ])
        #expect(timedOut.status == 1)
        #expect(timedOut.stderr.contains("no response within the request timeout"), "\(timedOut.stderr)")
        #expect(timedOut.stderr.contains("2 attempts"))
    }

    @Test("A server without word times: segment times, words spread within them, and the metadata says so")
    func estimatedWordTimes() throws {
        let server = try OpenAITestServer(["--no-words"])
        defer { server.stop() }
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Self.run([
            "--engine", "openai", "--base-url", server.baseURL, Self.conversation, "-f", "json", "-o", dir.path + "/",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try Self.json(dir.appendingPathComponent("conversation.json"))
        #expect((json["metadata"] as? [String: Any])?["wordTimes"] as? String == "estimated")
        let words = Self.words(json)
        #expect(words.count > 100)
        #expect(words.allSatisfy { $0["timeEstimated"] as? Bool == true })
        let starts = words.compactMap { $0["start"] as? Double }
        #expect(starts == starts.sorted())
    }

    @Test("Guards in the metadata: silent chunks not sent, repeats dropped, both counted and shown per chunk")
    func guardsCounted() throws {
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Speech, 25 s of silence, speech: with 10 s chunks at least one chunk is silent.
        let file = try GeneratedAudio.speechGapSpeech(in: dir)
        // Every answer says its last segment twice.
        let server = try OpenAITestServer(["--fault", "repeatx0"])
        defer { server.stop() }
        let result = try Self.run([
            "--engine", "openai", "--base-url", server.baseURL, file, "--chunk-size", "10", "--show-chunks",
            "-f", "json,txt", "-o", dir.path + "/", "--cache-dir", dir.appendingPathComponent("cache").path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let metadata = try Self.json(dir.appendingPathComponent("gap.json"))["metadata"] as? [String: Any] ?? [:]
        let stderr = result.stderr
        let chunks = (metadata["chunking"] as? [String: Any])?["chunks"] as? Int ?? 0
        let guards = metadata["guards"] as? [String: Int] ?? [:]
        let requests = try server.requests()
        #expect(chunks >= 3)
        #expect((guards["silentChunks"] ?? 0) >= 1)
        #expect(requests.count == chunks - (guards["silentChunks"] ?? 0))
        #expect(guards["repeats"] == requests.filter { ($0.words ?? 0) > 0 }.count)
        #expect(guards["repeats"] ?? 0 >= 2)
        #expect(guards["loops"] == 0 && guards["overSilence"] == 0 && guards["retries"] == 0)
        #expect(stderr.contains("(no speech, not sent)"), "\(stderr)")
        #expect(stderr.contains("(dropped 1 repeat)"), "\(stderr)")
        // Each sentence once: "my father used to tell us stories" twice in the file, not four times.
        let text = try String(contentsOf: dir.appendingPathComponent("gap.txt"), encoding: .utf8).lowercased()
        #expect(text.components(separatedBy: "father").count - 1 == 2, "\(text)")
    }

    @Test("No decoder in process: a limit too small for PocketSphinx runs four OpenAI chunks at once")
    func memoryLimit() throws {
        let server = try OpenAITestServer()
        defer { server.stop() }
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let common = [
            Self.conversation, "--memory-limit", "100", "--max-workers", "4", "--chunk-size", "15", "-f", "json", "-o", dir.path + "/",
        ]
        let embedded = try Self.run(common)
        #expect(embedded.status == 1)
        #expect(embedded.stderr.contains("too small for one worker"), "\(embedded.stderr)")

        let remote = try Self.run(["--engine", "openai", "--base-url", server.baseURL] + common)
        #expect(remote.status == 0, "\(remote.stderr)")
        let memory =
            (try Self.json(dir.appendingPathComponent("conversation.json"))["metadata"] as? [String: Any])?["memory"] as? [String: Any]
        #expect(memory?["workersAllowed"] as? Int == 4)
        #expect((memory?["peakRSSMB"] as? Double ?? 999) <= 100)
        #expect(memory?["limitMB"] as? Int == 100)
    }

    @Test("OpenAI flags without --engine openai are refused, and a bad URL is named")
    func misuse() throws {
        let stray = try Self.run([TestPaths.fixture("speech/short.wav"), "--base-url", "http://127.0.0.1:9/v1"])
        #expect(stray.status != 0)
        #expect(stray.stderr.contains("apply to --engine openai"))
        let bad = try Self.run([TestPaths.fixture("speech/short.wav"), "--engine", "openai", "--base-url", "localhost:8080"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("base URL localhost:8080 is not an http:// or https:// URL"), "\(bad.stderr)")
    }

    @Test(
        "watch with engine: openai from the configuration file, key from it too: transcripts appear; 401 is retried, then failed/ with the reason"
    )
    func watchService() throws {
        let secret = "sk-watch-\(UUID().uuidString)"
        let server = try OpenAITestServer(["--api-key", secret])
        defer { server.stop() }
        let service = try ServiceProcess()
        defer { service.cleanup() }
        let config = service.root.appendingPathComponent("hearingai.yaml")
        try """
        engine: openai
        openai_base_url: \(server.baseURL)
        openai_model: whisper-1
        openai_api_key: \(secret)
        formats: txt,json
        """.write(to: config, atomically: true, encoding: .utf8)
        service.watchArguments += ["--config", config.path]
        service.environment = ["OPENAI_API_KEY": ""]
        try service.start()
        try service.cp(TestPaths.fixture("speech/short.wav"), as: "short.wav")
        try service.waitUntil("short.wav in processed/") { ServiceProcess.names(service.processed) == ["short.wav"] }
        #expect(ServiceProcess.names(service.outbox) == ["short.json", "short.txt"])
        let json = try Self.json(service.outbox.appendingPathComponent("short.json"))
        #expect((json["metadata"] as? [String: Any])?["engine"] as? String == "openai")
        #expect(try server.requests().count == 1)
        try service.terminate()
        #expect(!service.log().contains(secret))

        // The wrong key is not the file's fault, so it is retried like any engine failure, and
        // after max_attempts (1 here) the file is quarantined in failed/ with the server's reason.
        try """
        engine: openai
        openai_base_url: \(server.baseURL)
        openai_api_key: sk-wrong
        max_attempts: 1
        """.write(to: config, atomically: true, encoding: .utf8)
        try service.start()
        // Other bytes than short.wav's (the same audio would be answered from the first result).
        try service.dropByRename(WatchServiceTests.shortVariant("401"), name: "again.wav")
        // The error file is written just after the source is moved: wait for both.
        try service.waitUntil("again.wav and its error file in failed/") {
            Set(ServiceProcess.names(service.failed)).isSuperset(of: ["again.wav", "again.wav.error.json"])
        }
        let reason = try String(contentsOf: service.failed.appendingPathComponent("again.wav.error.json"), encoding: .utf8)
        #expect(reason.contains("refused the API key (HTTP 401)"), "\(reason)")
        #expect(!reason.contains("sk-wrong"))
        #expect(!service.log().contains("sk-wrong"))
    }
}
