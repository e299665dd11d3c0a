import AsyncHTTPClient
import CoreMetrics
import Foundation
import HearingAI
import NIOCore

/// Sends chunks to the server, one request at a time, retrying what can succeed later.
final class OpenAIDecoder: ChunkDecoder {
    private let configuration: OpenAIEngine.Configuration
    private let client: HTTPClient

    init(configuration: OpenAIEngine.Configuration, client: HTTPClient) {
        self.configuration = configuration
        self.client = client
    }

    /// The temperature of the one retry after a loop: Whisper's first fallback step.
    static let retryTemperature = 0.2

    func decode(_ chunk: Chunk, run: DecodingRun) async throws -> DecodedChunk {
        // Nothing is sent for a chunk without speech: Whisper is known to write text over
        // silence ("Thank you for watching").
        let speech = SpeechMap(samples: chunk.samples)
        guard speech.hasSpeech else { return DecodedChunk(words: [], guards: GuardCounts(silentChunks: 1)) }
        let chunkSeconds = Double(chunk.samples.count) / Double(ChunkPlan.sampleRate)
        let guardrail = HallucinationGuard()
        // Without a configured language, the run's first chunk with speech goes alone and the
        // language the server heard in it is sent with the rest: chunks detected one by one
        // can come back in different languages (a name, a short phrase).
        var language: String?
        var response: TranscriptionResponse
        if configuration.language == nil {
            switch await run.language.claim() {
            case .lead:
                do {
                    response = try await request(chunk, temperature: nil, language: nil)
                } catch {
                    await run.language.settle(nil)
                    throw error
                }
                language = response.language.flatMap(WhisperLanguage.code)
                await run.language.settle(language)
            case .settled(let detected):
                language = detected
                response = try await request(chunk, temperature: nil, language: detected)
            }
        } else {
            response = try await request(chunk, temperature: nil, language: nil)
        }
        var (kept, guards) = Self.guarded(response, speech: speech, guardrail: guardrail)
        if guardrail.wantsRetry(guards) {
            // A loop: ask once more with the temperature raised, as Whisper's long-form
            // decoding does, and keep that answer (guarded in turn). Without the text before:
            // a prompt can feed a loop, and Whisper drops it too when it falls back.
            response = try await request(chunk, temperature: Self.retryTemperature, language: language, withContext: false)
            (kept, guards) = Self.guarded(response, speech: speech, guardrail: guardrail)
            guards.retries = 1
        } else if chunk.precedingText != nil, guardrail.skipsSpeech(kept, speech: speech, chunkSeconds: chunkSeconds) {
            // Whisper skipped ahead with the text before as its prompt: ask again without it,
            // and keep whichever answer heard more.
            let cold = try await request(chunk, temperature: nil, language: language, withContext: false)
            let (coldKept, coldGuards) = Self.guarded(cold, speech: speech, guardrail: guardrail)
            if Self.wordCount(coldKept) > Self.wordCount(kept) {
                (response, kept, guards) = (cold, coldKept, coldGuards)
            }
            guards.skippedSpeech = 1
        }
        let heard = response.language.map { WhisperLanguage.code($0) ?? $0 } ?? language ?? configuration.language
        return DecodedChunk(words: kept.chunkWords(chunkSeconds: chunkSeconds), guards: guards, language: heard)
    }

    /// The words of an answer: its word list's, else its segments' text's.
    static func wordCount(_ response: TranscriptionResponse) -> Int {
        response.words?.count
            ?? (response.segments?.map(\.text) ?? [response.text ?? ""]).reduce(0) {
                $0 + HallucinationGuard.normalised($1).split(separator: " ").count
            }
    }

    /// `response` without the segments the guard drops, and without the words of those
    /// segments, with what was dropped.
    ///
    /// A server lists the words of its segments in order, one per space-separated token of the
    /// segment's text, so when the counts agree each word goes with its own segment: a repeat or
    /// a loop laid over the same seconds as the segment before loses its words and only those.
    /// When they do not agree, a word goes with the segments its middle falls in and is kept
    /// if one of them is.
    static func guarded(_ response: TranscriptionResponse, speech: SpeechMap, guardrail: HallucinationGuard)
        -> (response: TranscriptionResponse, counts: GuardCounts)
    {
        guard let segments = response.segments else { return (response, GuardCounts()) }
        let (keptIndices, counts) = guardrail.keptIndices(segments, speech: speech)
        guard keptIndices.count < segments.count else { return (response, counts) }
        let keep = Set(keptIndices)
        let kept = keptIndices.map { segments[$0] }
        var filtered = response
        filtered.segments = kept
        filtered.text = kept.map(\.text).joined()
        if let words = response.words {
            let tokens = segments.map { $0.text.split(whereSeparator: \.isWhitespace).count }
            if tokens.reduce(0, +) == words.count {
                var start = 0
                filtered.words = []
                for (index, count) in tokens.enumerated() {
                    if keep.contains(index) { filtered.words?.append(contentsOf: words[start..<start + count]) }
                    start += count
                }
            } else {
                filtered.words = words.filter { word in
                    let middle = (word.start + word.end) / 2
                    let owners = segments.indices.filter { middle >= segments[$0].start - 0.05 && middle <= segments[$0].end + 0.05 }
                    return owners.isEmpty || owners.contains { keep.contains($0) }
                }
            }
        }
        return (filtered, counts)
    }

    /// Sends `chunk` until the server answers or the retries are spent.
    private func request(_ chunk: Chunk, temperature: Double?, language: String?, withContext: Bool = true) async throws
        -> TranscriptionResponse
    {
        let url = configuration.transcriptionURL
        let form = TranscriptionRequest.form(
            for: chunk, configuration: configuration, temperature: temperature, language: language, withContext: withContext)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: form.contentType)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "hearingai")
        if let key = configuration.apiKey, !key.isEmpty {
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
        }
        request.body = .bytes(form.body)

        var retry = RetryPolicy(configuration: configuration)
        while true {
            try Task.checkCancellation()
            let outcome: Outcome
            do {
                outcome = try await send(request, chunk: chunk, url: url)
            } catch let error as HearingAIError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                outcome = .transient(Self.describeTransport(error), retryAfter: nil)
            }
            switch outcome {
            case .success(let response):
                return response
            case .transient(let reason, let retryAfter):
                guard let delay = retry.nextDelay(retryAfter: retryAfter) else {
                    throw HearingAIError(
                        .engineFailed,
                        reason: "\(chunk.label): \(reason) from \(url), \(retry.attempts) attempts; giving up")
                }
                try await Task.sleep(for: delay)
            }
        }
    }

    private enum Outcome {
        case success(TranscriptionResponse)
        case transient(String, retryAfter: Duration?)
    }

    private func send(_ request: HTTPClientRequest, chunk: Chunk, url: String) async throws -> Outcome {
        let response = try await client.execute(request, timeout: TimeAmount(configuration.requestTimeout))
        Counter(label: MetricName.engineRequests, dimensions: [("code", String(response.status.code))]).increment()
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: configuration.maxResponseBytes)
        } catch is NIOTooManyBytesError {
            throw HearingAIError(
                .engineFailed,
                reason: "\(chunk.label): the response from \(url) is larger than \(configuration.maxResponseBytes / 1024) KB")
        }
        let status = Int(response.status.code)
        let bytes = body.readableBytesView
        switch status {
        case 200..<300:
            return .success(try TranscriptionResponse.parse(bytes, chunk: chunk, url: url))
        case 408, 409, 429, 500...599:
            return .transient(
                "HTTP \(status)\(Self.serverMessage(bytes).map { ": \($0)" } ?? "")",
                retryAfter: RetryPolicy.retryAfter(
                    milliseconds: response.headers.first(name: "retry-after-ms"),
                    value: response.headers.first(name: "retry-after")))
        default:
            throw Self.permanentError(status: status, body: bytes, chunk: chunk, url: url, model: configuration.model)
        }
    }

    /// 4xx other than 408/409/429: the request itself is wrong, and sending it again will not help.
    static func permanentError(status: Int, body: some Collection<UInt8>, chunk: Chunk, url: String, model: String) -> HearingAIError {
        let message = serverMessage(body).map { ": \($0)" } ?? ""
        switch status {
        case 401:
            return HearingAIError(
                .engineUnavailable,
                reason: "\(url) refused the API key (HTTP 401)\(message); set OPENAI_API_KEY (or openai_api_key in the configuration file)")
        case 403:
            return HearingAIError(.engineUnavailable, reason: "\(url) denied access (HTTP 403)\(message); check the API key's permissions")
        case 404:
            return HearingAIError(
                .engineUnavailable,
                reason: "\(url) answered 404 Not Found\(message); check --base-url, --request-path and --model (\(model))")
        default:
            return HearingAIError(.engineFailed, reason: "\(chunk.label): \(url) rejected the request (HTTP \(status))\(message)")
        }
    }

    /// The `error.message` of an OpenAI-style error body, or the body's start.
    static func serverMessage(_ body: some Collection<UInt8>) -> String? {
        guard !body.isEmpty else { return nil }
        if let envelope = try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(body)),
            let message = envelope.error?.message ?? envelope.detail
        {
            return message.split(whereSeparator: \.isNewline).joined(separator: " ")
        }
        return TranscriptionResponse.preview(body)
    }

    /// OpenAI's `{"error": {"message": ...}}`, or FastAPI's `{"detail": ...}`.
    private struct ErrorEnvelope: Decodable {
        struct Inner: Decodable { var message: String? }
        var error: Inner?
        var detail: String?
    }

    static func describeTransport(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout: return "no response within the request timeout"
            case .connectTimeout: return "connection timed out"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: return "HTTP client error: \(error)"
            }
        }
        return "connection failed: \(error)"
    }

    func close() {}
}

/// Exponential backoff with jitter, honouring the server's Retry-After.
struct RetryPolicy {
    let maxRetries: Int
    let backoff: Backoff
    let maximum: Duration
    /// Attempts made so far (the first request included).
    private(set) var attempts = 1

    init(configuration: OpenAIEngine.Configuration) {
        maxRetries = configuration.maxRetries
        maximum = configuration.maxRetryDelay
        backoff = Backoff(base: configuration.initialRetryDelay.seconds, factor: 2, cap: maximum.seconds, jitter: 0.5...1.0)
    }

    /// The wait before the next attempt, or nil when the retries are spent. The n-th retry
    /// waits a random time between half and all of `initial × 2ⁿ⁻¹` (capped at `maximum`), so
    /// that workers that failed together do not come back together; a Retry-After from the
    /// server is a floor (also capped at `maximum`).
    mutating func nextDelay(retryAfter: Duration?) -> Duration? {
        guard attempts <= maxRetries else { return nil }
        var delay = backoff.delay(attempt: attempts)
        if let retryAfter { delay = max(delay, min(maximum.seconds, retryAfter.seconds)) }
        attempts += 1
        return .milliseconds(Int64(delay * 1000))
    }

    /// The wait a server asked for: OpenAI's `retry-after-ms` header, else `Retry-After` in
    /// seconds or as an HTTP date.
    static func retryAfter(milliseconds: String?, value header: String?, now: Date = Date()) -> Duration? {
        if let ms = milliseconds.flatMap(Double.init), ms >= 0 {
            return .milliseconds(Int64(ms))
        }
        guard let value = header?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value), seconds >= 0 {
            return .milliseconds(Int64(seconds * 1000))
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = formatter.date(from: value) {
            return .milliseconds(Int64(max(0, date.timeIntervalSince(now)) * 1000))
        }
        return nil
    }
}
