import Foundation
import HearingAI
import TestSupport
import Testing

@testable import HearingAIOpenAI

/// 16 kHz mono samples of a fixture, converted by sox.
func samples(of fixture: String, seconds: Double? = nil) throws -> [Int16] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    var args = ["sox", TestPaths.fixture(fixture), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", "-"]
    if let seconds { args += ["trim", "0", "\(seconds)"] }
    process.arguments = args
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return data.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
}

func chunk(_ samples: [Int16], index: Int = 0) -> Chunk {
    Chunk(index: index, samples: samples, audioStart: 0, ownedStart: 0, ownedEnd: Int64(samples.count))
}

/// A configuration for a loopback server: short delays, so fault tests take seconds.
func loopback(_ server: OpenAITestServer, _ change: (inout OpenAIEngine.Configuration) -> Void = { _ in }) -> OpenAIEngine.Configuration {
    var configuration = OpenAIEngine.Configuration(
        baseURL: server.baseURL, requestTimeout: .seconds(30), maxRetries: 3,
        initialRetryDelay: .milliseconds(100), maxRetryDelay: .seconds(5))
    change(&configuration)
    return configuration
}

func decode(_ chunk: Chunk, _ configuration: OpenAIEngine.Configuration) async throws -> [Word] {
    try await decoded(chunk, configuration).words
}

/// What one decoder made of `chunk`: words and guard counts.
func decoded(_ chunk: Chunk, _ configuration: OpenAIEngine.Configuration) async throws -> DecodedChunk {
    let decoder = try await OpenAIEngine(configuration: configuration).makeDecoder()
    defer { decoder.close() }
    return try await decoder.decode(chunk)
}

@Suite("The request: a 16 kHz mono WAV in a multipart form")
struct RequestTests {
    @Test("The WAV is what sox reads as 16 kHz mono 16-bit, with every sample intact")
    func wavRoundTrip() throws {
        let input: [Int16] = (0..<16_000).map { Int16(truncatingIfNeeded: $0 &* 37) }
        let bytes = TranscriptionRequest.wav(input)
        #expect(bytes.count == 44 + input.count * 2)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hearingai-wav-\(UUID().uuidString).wav")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(bytes).write(to: url)

        let info = Process()
        info.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        info.arguments = ["soxi", "-r", url.path]
        let pipe = Pipe()
        info.standardOutput = pipe
        try info.run()
        let rate = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        info.waitUntilExit()
        #expect(rate.trimmingCharacters(in: .whitespacesAndNewlines) == "16000")

        let back = Process()
        back.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        back.arguments = ["sox", url.path, "-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1", "-"]
        let raw = Pipe()
        back.standardOutput = raw
        try back.run()
        let data = raw.fileHandleForReading.readDataToEndOfFile()
        back.waitUntilExit()
        let decoded = data.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        #expect(decoded == input)
    }

    @Test("The form carries the file, model, verbose_json, both granularities, language and prompt")
    func formFields() throws {
        var configuration = OpenAIEngine.Configuration(model: "whisper-large", language: "en", prompt: "Names: Ada, \"Bob\"")
        configuration.apiKey = "sk-never-in-the-body"
        let form = TranscriptionRequest.form(for: chunk([1, 2, 3], index: 7), configuration: configuration)
        let text = String(decoding: form.body, as: UTF8.self)
        #expect(form.contentType == "multipart/form-data; boundary=\(form.boundary)")
        #expect(text.hasPrefix("--\(form.boundary)\r\n"))
        #expect(text.hasSuffix("--\(form.boundary)--\r\n"))
        #expect(text.contains("name=\"file\"; filename=\"chunk-7.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF"))
        #expect(text.contains("name=\"model\"\r\n\r\nwhisper-large\r\n"))
        #expect(text.contains("name=\"response_format\"\r\n\r\nverbose_json\r\n"))
        #expect(text.contains("name=\"timestamp_granularities[]\"\r\n\r\nword\r\n"))
        #expect(text.contains("name=\"timestamp_granularities[]\"\r\n\r\nsegment\r\n"))
        #expect(text.contains("name=\"language\"\r\n\r\nen\r\n"))
        #expect(text.contains("name=\"prompt\"\r\n\r\nNames: Ada, \"Bob\"\r\n"))
        #expect(!text.contains("sk-never"))
        #expect(!configuration.description.contains("sk-never"))
        #expect(!OpenAIEngine(configuration: configuration).modelDescription.contains("sk-never"))
    }

    @Test("The URL joins base and path with one slash; bad URLs and empty models are refused")
    func urls() {
        #expect(OpenAIEngine.Configuration(baseURL: "http://h:1/v1/").transcriptionURL == "http://h:1/v1/audio/transcriptions")
        #expect(OpenAIEngine.Configuration(baseURL: "http://h:1", requestPath: "inference").transcriptionURL == "http://h:1/inference")
        #expect(throws: HearingAIError.self) { try OpenAIEngine.Configuration(baseURL: "ftp://h/v1").validate() }
        #expect(throws: HearingAIError.self) { try OpenAIEngine.Configuration(baseURL: "localhost:8080").validate() }
        #expect(throws: HearingAIError.self) { try OpenAIEngine.Configuration(model: "").validate() }
    }
}

@Suite("The response: words on the chunk's clock")
struct ResponseTests {
    let sample = chunk([Int16](repeating: 0, count: 16_000 * 10), index: 2)

    @Test("Word times are taken as given, trimmed of Whisper's leading spaces")
    func wordTimes() throws {
        let body =
            #"{"text":" Hello there.","segments":[{"start":0.5,"end":1.6,"text":" Hello there."}],"words":[{"word":" Hello","start":0.5,"end":0.9},{"word":" there.","start":1.0,"end":1.6,"probability":0.8}]}"#
        let words = try TranscriptionResponse.parse(Array(body.utf8), chunk: sample, url: "u").chunkWords(chunkSeconds: 10)
        #expect(words.map(\.text) == ["Hello", "there."])
        #expect(words.map(\.start) == [0.5, 1.0])
        #expect(words.map(\.end) == [0.9, 1.6])
        #expect(words[1].confidence == 0.8)
        #expect(words.allSatisfy { $0.timeEstimated == nil })
    }

    @Test("No word times: words are spread over their segment, in order, and marked estimated")
    func segmentsOnly() throws {
        let body =
            #"{"text":"a bb ccc dddd","segments":[{"start":1.0,"end":2.0,"text":" a bb"},{"start":5.0,"end":12.0,"text":" ccc dddd"}]}"#
        let words = try TranscriptionResponse.parse(Array(body.utf8), chunk: sample, url: "u").chunkWords(chunkSeconds: 10)
        #expect(words.map(\.text) == ["a", "bb", "ccc", "dddd"])
        #expect(words.allSatisfy { $0.timeEstimated == true })
        #expect(abs(words[0].start - 1.0) < 1e-9 && abs(words[1].end - 2.0) < 1e-9)
        #expect(abs(words[1].start - (1.0 + 1.0 / 3)) < 1e-9)  // "a" takes 1 of 3 letters
        #expect(abs(words[2].start - 5.0) < 1e-9 && abs(words[3].end - 12.0) < 1e-9)
        #expect(zip(words, words.dropFirst()).allSatisfy { $0.end <= $1.start + 1e-9 })
    }

    @Test("Only text (response_format=json servers): spread over the chunk, marked estimated")
    func textOnly() throws {
        let words = try TranscriptionResponse.parse(Array(#"{"text":"one two"}"#.utf8), chunk: sample, url: "u").chunkWords(
            chunkSeconds: 10)
        #expect(words.map(\.text) == ["one", "two"])
        #expect(words.first?.start == 0 && words.last?.end == 10)
        #expect(words.allSatisfy { $0.timeEstimated == true })
    }

    @Test("Silence is an empty transcript, not an error")
    func silence() throws {
        let words = try TranscriptionResponse.parse(Array(#"{"text":"","segments":[],"words":[]}"#.utf8), chunk: sample, url: "u")
            .chunkWords(chunkSeconds: 10)
        #expect(words.isEmpty)
    }

    @Test(
        "A body that is not the protocol's JSON is an error naming the chunk",
        arguments: [
            #"{"text": "unterminated"#, "<html>502 Bad Gateway</html>", #"{"result":"ok"}"#, #"{"text":"x","words":[{"word":"x"}]}"#, "",
        ])
    func malformed(body: String) throws {
        let error = #expect(throws: HearingAIError.self) {
            try TranscriptionResponse.parse(Array(body.utf8), chunk: sample, url: "http://h/v1/audio/transcriptions")
        }
        #expect(error?.code == .engineFailed)
        #expect(error?.reason.hasPrefix("chunk 2 (0.0–10.0 s): malformed response from http://h/v1/audio/transcriptions") == true)
    }
}

@Suite("Retries: exponential backoff with jitter, Retry-After honoured")
struct RetryPolicyTests {
    @Test("Each delay is between half and all of initial × 2ⁿ, capped; then the retries are spent")
    func backoff() {
        var policy = RetryPolicy(configuration: .init(maxRetries: 5, initialRetryDelay: .seconds(1), maxRetryDelay: .seconds(6)))
        let bounds: [(Double, Double)] = [(0.5, 1), (1, 2), (2, 4), (3, 6), (3, 6)]
        for (low, high) in bounds {
            let delay = policy.nextDelay(retryAfter: nil)!.seconds
            #expect(delay >= low - 0.001 && delay <= high + 0.001)
        }
        #expect(policy.nextDelay(retryAfter: nil) == nil)
        #expect(policy.attempts == 6)
    }

    @Test("Jitter: workers failing together come back at different times")
    func jitter() {
        let delays = (0..<20).map { _ in
            var policy = RetryPolicy(configuration: .init(initialRetryDelay: .seconds(10)))
            return policy.nextDelay(retryAfter: nil)!
        }
        #expect(Set(delays).count > 10)
    }

    @Test("Retry-After is a floor, capped at the longest delay; seconds, milliseconds and HTTP dates are read")
    func retryAfter() {
        var policy = RetryPolicy(configuration: .init(initialRetryDelay: .milliseconds(10), maxRetryDelay: .seconds(30)))
        #expect(policy.nextDelay(retryAfter: .seconds(3)) == .seconds(3))
        #expect(policy.nextDelay(retryAfter: .seconds(300)) == .seconds(30))
        #expect(RetryPolicy.retryAfter(milliseconds: nil, value: "2") == .seconds(2))
        #expect(RetryPolicy.retryAfter(milliseconds: "1500", value: "9") == .milliseconds(1500))
        let now = Date(timeIntervalSince1970: 1_700_000_000)  // Tue, 14 Nov 2023 22:13:20 GMT
        #expect(RetryPolicy.retryAfter(milliseconds: nil, value: "Tue, 14 Nov 2023 22:13:25 GMT", now: now) == .seconds(5))
        #expect(RetryPolicy.retryAfter(milliseconds: nil, value: "soon") == nil)
    }
}

@Suite("Against a real server on loopback", .serialized)
struct ServerTests {
    @Test("A chunk's words come back in order with the times the server's engine gave them")
    func words() async throws {
        let server = try OpenAITestServer(["--api-key", "sk-loopback"])
        defer { server.stop() }
        let audio = try samples(of: "speech/conversation.wav", seconds: 12)
        let words = try await decode(
            chunk(audio),
            loopback(server) {
                $0.apiKey = "sk-loopback"
                $0.language = "en"
            })
        let reference = ["good", "morning", "how", "was", "your", "weekend", "it", "was", "very", "nice", "thank", "you"]
        #expect(Array(words.map(\.text).prefix(reference.count)) == reference)
        #expect(zip(words, words.dropFirst()).allSatisfy { $0.start <= $1.start })
        #expect(words.first!.start > 0.3 && words.first!.start < 1.0)
        #expect(words.last!.end <= 12.01)

        let requests = try server.requests()
        #expect(requests.count == 1)
        #expect(requests[0].auth == true)
        #expect(requests[0].rate == 16_000 && requests[0].channels == 1 && requests[0].bits == 16)
        #expect(abs((requests[0].audio_seconds ?? 0) - 12) < 0.01)
        #expect(requests[0].fields?["language"] == ["en"])
        #expect(requests[0].fields?["timestamp_granularities[]"] == ["word", "segment"])
    }

    @Test("429 with Retry-After: waits at least that long, then succeeds")
    func rateLimited() async throws {
        let server = try OpenAITestServer(["--fault", "429", "--retry-after", "1"])
        defer { server.stop() }
        let clock = ContinuousClock()
        let started = clock.now
        let words = try await decode(chunk(try samples(of: "speech/short.wav")), loopback(server))
        #expect(clock.now - started >= .seconds(1))
        #expect(!words.isEmpty)
        let requests = try server.requests()
        #expect(requests.map(\.status) == [429, 200])
        #expect(requests[1].time - requests[0].time >= 0.99)
    }

    @Test("500, then 503, then success")
    func serverErrors() async throws {
        let server = try OpenAITestServer(["--fault", "500", "--fault", "503"])
        defer { server.stop() }
        let words = try await decode(chunk(try samples(of: "speech/short.wav")), loopback(server))
        #expect(!words.isEmpty)
        #expect(try server.requests().map(\.status) == [500, 503, 200])
    }

    @Test("A hang past the request timeout is abandoned and retried")
    func hang() async throws {
        // The first request hangs far past the timeout; the retry is answered by
        // pocketsphinx_continuous, which takes 1.5–4 s for this file on a busy 2-core machine,
        // so the timeout leaves it room.
        let server = try OpenAITestServer(["--fault", "hang", "--hang-seconds", "60"])
        defer { server.stop() }
        let clock = ContinuousClock()
        let started = clock.now
        let words = try await decode(chunk(try samples(of: "speech/short.wav")), loopback(server) { $0.requestTimeout = .seconds(8) })
        let elapsed = clock.now - started
        #expect(!words.isEmpty)
        #expect(elapsed >= .seconds(8) && elapsed < .seconds(40))
    }

    @Test("Errors that persist give up after the retries, naming the chunk, the status and the attempts")
    func persistent() async throws {
        let server = try OpenAITestServer(["--fault", "503x0"])
        defer { server.stop() }
        let error = await #expect(throws: HearingAIError.self) {
            try await decode(chunk(try samples(of: "speech/short.wav"), index: 4), loopback(server) { $0.maxRetries = 2 })
        }
        #expect(error?.reason.hasPrefix("chunk 4 (") == true)
        #expect(error?.reason.contains("HTTP 503: Injected fault 503") == true)
        #expect(error?.reason.contains("3 attempts") == true)
        #expect(try server.requests().count == 3)
    }

    @Test("Malformed JSON is an error naming the chunk, not an empty transcript, and is not retried")
    func malformed() async throws {
        let server = try OpenAITestServer(["--fault", "malformedx0"])
        defer { server.stop() }
        let error = await #expect(throws: HearingAIError.self) {
            try await decode(chunk(try samples(of: "speech/short.wav"), index: 1), loopback(server))
        }
        #expect(error?.code == .engineFailed)
        #expect(error?.reason.contains("chunk 1 (") == true)
        #expect(error?.reason.contains("malformed response") == true)
        #expect(try server.requests().count == 1)
    }

    @Test(
        "401, 403 and 404 fail at once with what to check",
        arguments: [
            (["--api-key", "sk-right"], "refused the API key (HTTP 401): Incorrect API key provided."),
            (["--fault", "403"], "denied access (HTTP 403)"),
            (["--path", "/v1/other"], "answered 404 Not Found"),
            (
                ["--model", "whisper-large-v3"],
                "The model `whisper-1` does not exist; check --base-url, --request-path and --model (whisper-1)"
            ),
        ])
    func refused(arguments: [String], message: String) async throws {
        let server = try OpenAITestServer(arguments)
        defer { server.stop() }
        let error = await #expect(throws: HearingAIError.self) {
            try await decode(chunk(try samples(of: "speech/short.wav")), loopback(server) { $0.apiKey = "sk-wrong" })
        }
        #expect(error?.code == .engineUnavailable)
        #expect(error?.reason.contains(message) == true, "\(error?.reason ?? "")")
        #expect(error?.reason.contains("sk-wrong") == false)
        #expect(try server.requests().count == 1)
    }

    @Test("A server that gives no word times: segment times, words spread within them")
    func noWordTimes() async throws {
        let server = try OpenAITestServer(["--no-words"])
        defer { server.stop() }
        let words = try await decode(chunk(try samples(of: "speech/conversation.wav", seconds: 12)), loopback(server))
        #expect(words.count >= 10)
        #expect(words.allSatisfy { $0.timeEstimated == true })
        #expect(words.first?.text == "good")
        #expect(zip(words, words.dropFirst()).allSatisfy { $0.start <= $1.start })
    }

    @Test("A chunk without speech is not sent: Whisper would write text over silence")
    func silentChunkNotSent() async throws {
        let server = try OpenAITestServer()
        defer { server.stop() }
        var quiet = [Int16](repeating: 0, count: 16_000 * 5)
        for index in stride(from: 0, to: quiet.count, by: 7) { quiet[index] = 3 }  // a faint hiss
        let result = try await decoded(chunk(quiet), loopback(server))
        #expect(result.words.isEmpty)
        #expect(result.guards == GuardCounts(silentChunks: 1))
        #expect(try server.requests().isEmpty)
    }

    /// Words and guard counts from a server started with `arguments`, and its requests.
    private func guarded(_ samples: [Int16], _ arguments: [String]) async throws
        -> (result: DecodedChunk, requests: [OpenAITestServer.Request])
    {
        let server = try OpenAITestServer(arguments)
        defer { server.stop() }
        let result = try await decoded(chunk(samples), loopback(server))
        return (result, try server.requests())
    }

    @Test("Without --language the first chunk with speech goes alone; the language heard in it goes with the rest and into the metadata")
    func languageDetected() async throws {
        let server = try OpenAITestServer(["--detected-language", "german"])
        defer { server.stop() }
        let orchestrator = WorkflowOrchestrator(
            engine: OpenAIEngine(configuration: loopback(server)), maxWorkers: 3, resources: ResourceManager(limit: nil))
        let configuration = PipelineConfiguration(chunking: ChunkPlan(chunkSize: 8, overlap: 0.5), maxWorkers: 3)
        let transcript = try await orchestrator.transcribe(TestPaths.fixture("speech/conversation.wav"), configuration: configuration)
        let requests = try server.requests().sorted { $0.time < $1.time }
        #expect(requests.count == transcript.metadata.chunking.chunks && requests.count >= 6)
        #expect(requests[0].fields?["language"] == nil)
        #expect(requests.dropFirst().allSatisfy { $0.fields?["language"] == ["de"] })
        #expect(transcript.metadata.language == "de")

        // A configured language is sent with every chunk, and is what the metadata says.
        let told = WorkflowOrchestrator(
            engine: OpenAIEngine(configuration: loopback(server) { $0.language = "en" }), maxWorkers: 3,
            resources: ResourceManager(limit: nil))
        let english = try await told.transcribe(TestPaths.fixture("speech/short.wav"), configuration: configuration)
        #expect(try server.requests().dropFirst(requests.count).allSatisfy { $0.fields?["language"] == ["en"] })
        #expect(english.metadata.language == "en")
        await orchestrator.close()
        await told.close()
    }

    @Test("Whisper's languages by code or by name, as servers report them")
    func languageCodes() {
        #expect(WhisperLanguage.code("english") == "en")
        #expect(WhisperLanguage.code("English") == "en")
        #expect(WhisperLanguage.code("en") == "en")
        #expect(WhisperLanguage.code("haitian creole") == "ht")
        #expect(WhisperLanguage.code("yue") == "yue")
        #expect(WhisperLanguage.code("klingon") == nil)
    }

    @Test("A run from checkpoints reports the guard counts the chunks were stored with, and sends nothing")
    func guardsFromCheckpoints() async throws {
        let dir = try temporaryDirectory(prefix: "hearingai-openai")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Speech, 25 s of silence, speech.
        let file = try GeneratedAudio.speechGapSpeech(in: dir)
        let server = try OpenAITestServer(["--fault", "repeatx0"])
        defer { server.stop() }
        let orchestrator = WorkflowOrchestrator(
            engine: OpenAIEngine(configuration: loopback(server)), maxWorkers: 1,
            cache: ChunkCache(directory: dir.appendingPathComponent("cache")), resources: ResourceManager(limit: nil))
        let configuration = PipelineConfiguration(chunking: ChunkPlan(chunkSize: 10, overlap: 0.5), maxWorkers: 1)
        let first = try await orchestrator.transcribe(file, configuration: configuration)
        let sent = try server.requests().count
        let second = try await orchestrator.transcribe(file, configuration: configuration)
        await orchestrator.close()
        let guards = try #require(first.metadata.guards)
        #expect(guards.silentChunks >= 1 && guards.repeats >= 2)
        #expect(sent == first.metadata.chunking.chunks - guards.silentChunks)
        #expect(try server.requests().count == sent)
        #expect(second.metadata.guards == guards)
        #expect(second.words.map(\.text) == first.words.map(\.text))
    }

    @Test("A loop is asked again once at temperature 0.2; the second answer is kept and the retry counted")
    func loopRetried() async throws {
        let speech = try samples(of: "speech/short.wav")
        let clean = try await guarded(speech, []).result
        #expect(clean.guards == GuardCounts())
        let (result, requests) = try await guarded(speech, ["--fault", "loop"])
        #expect(requests.count == 2)
        #expect(requests[0].fields?["temperature"] == nil)
        #expect(requests[1].fields?["temperature"] == ["0.2"])
        #expect(result.words.map(\.text) == clean.words.map(\.text))
        #expect(result.guards == GuardCounts(retries: 1))
    }

    @Test("A loop that comes back after the retry is dropped with its words, and counted")
    func loopDropped() async throws {
        let speech = try samples(of: "speech/short.wav")
        let clean = try await guarded(speech, []).result
        let (result, requests) = try await guarded(speech, ["--fault", "loopx0"])
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0.words ?? 0 > 0 })
        #expect(!result.words.contains { $0.text == "so" })
        #expect(result.words.map(\.text) == clean.words.map(\.text))
        #expect(result.guards == GuardCounts(loops: 1, retries: 1))
    }

    @Test("A segment the server says twice is kept once, and counted")
    func repeatDropped() async throws {
        let speech = try samples(of: "speech/short.wav")
        let clean = try await guarded(speech, []).result
        let (result, requests) = try await guarded(speech, ["--fault", "repeat"])
        #expect(requests.count == 1)
        #expect(!clean.words.isEmpty)
        #expect(result.words.map(\.text) == clean.words.map(\.text))
        #expect(result.guards == GuardCounts(repeats: 1))
    }

    @Test("Text the server writes over the silence after speech is dropped with its words, and counted")
    func overSilenceDropped() async throws {
        let speech = try samples(of: "speech/short.wav") + [Int16](repeating: 0, count: 16_000 * 3)
        let clean = try await guarded(speech, []).result
        let (result, _) = try await guarded(speech, ["--fault", "oversilence"])
        #expect(!result.words.contains { $0.text.lowercased().hasPrefix("watching") })
        #expect(result.words.map(\.text) == clean.words.map(\.text))
        #expect(result.guards == GuardCounts(overSilence: 1))
    }

    @Test("Nobody listening: connection failures are retried, then reported")
    func refusedConnection() async throws {
        let server = try OpenAITestServer()
        let url = server.baseURL
        server.stop()
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: HearingAIError.self) {
            try await decode(
                chunk(try samples(of: "speech/short.wav", seconds: 2)),
                OpenAIEngine.Configuration(
                    baseURL: url, maxRetries: 1, initialRetryDelay: .milliseconds(10)))
        }
        #expect(error?.reason.contains("connection failed") == true, "\(error?.reason ?? "")")
        #expect(error?.reason.contains("2 attempts") == true)
        #expect(clock.now - started < .seconds(10), "a refused connection is reported at once, not at the request's deadline")
    }
}
