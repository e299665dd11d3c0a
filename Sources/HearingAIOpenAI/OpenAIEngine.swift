import AsyncHTTPClient
public import HearingAI

/// A transcription engine that sends each chunk to a server speaking OpenAI's audio
/// transcription protocol: OpenAI's API, or a local whisper.cpp server, speaches
/// (faster-whisper-server), LocalAI or vLLM.
///
/// Each chunk goes up as a 16 kHz mono WAV in a multipart `POST` to
/// ``Configuration-swift.struct/transcriptionURL`` with `response_format=verbose_json` and
/// word and segment timestamps; the words come back onto the file's clock through the
/// pipeline's chunking. Servers that return no word times still work: words are spread over
/// their segment's time and marked ``Word/timeEstimated``.
///
/// There is no decoder in process, so a "decoder" here is a connection's worth of buffers —
/// the chunk's WAV, its request body and the response — and the memory limit admits many
/// more chunks at once than with PocketSphinx. Concurrency is still bounded by the run's
/// `maxWorkers`.
public struct OpenAIEngine: TranscriptionEngine {
    /// Where and how to reach the server.
    public var configuration: Configuration

    /// An engine for `configuration`.
    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public var name: String { "openai" }

    /// The model and the URL; never the API key.
    public var modelDescription: String {
        var parts = ["model=\(configuration.model)", "url=\(configuration.transcriptionURL)"]
        if let language = configuration.language { parts.append("language=\(language)") }
        if let prompt = configuration.prompt { parts.append("prompt=\(prompt)") }
        return parts.joined(separator: " ")
    }

    /// A request's buffers: the WAV, the multipart body built from it, and the copy the HTTP
    /// client makes as it writes (2 bytes a sample each), plus a response of at most
    /// ``Configuration-swift.struct/maxResponseBytes``.
    public var decoderCost: DecoderCost {
        DecoderCost(
            footprintBytes: 256 * 1024,
            fixedGrowthBytes: configuration.maxResponseBytes + 64 * 1024,
            growthBytesPerSecond: 3 * 2 * ChunkPlan.sampleRate)
    }

    /// ``Configuration-swift.struct/contextChunks``: a chunk is prompted with what the chunks
    /// before it in its run said.
    public var contextRunLength: Int { configuration.contextChunks }

    public func makeDecoder() async throws -> any ChunkDecoder {
        try configuration.validate()
        return OpenAIDecoder(configuration: configuration, client: Self.client)
    }

    /// One client for the process, on NIO's shared event loops, like `HTTPClient.shared` but
    /// with connection failures reported at once: the engine retries them itself, with backoff
    /// and a count, instead of the pool retrying silently until the request's deadline.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(10)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}

extension OpenAIEngine {
    /// Where the server is, which model to ask for, and how patient to be.
    public struct Configuration: Sendable, Hashable, CustomStringConvertible {
        /// OpenAI's v1 endpoint.
        public static let defaultBaseURL = "https://api.openai.com/v1"
        /// The path OpenAI and most compatible servers answer on.
        public static let defaultRequestPath = "/audio/transcriptions"
        /// OpenAI's Whisper model.
        public static let defaultModel = "whisper-1"
        /// Chunks per context run; docs/benchmarks.md records the measurement behind it.
        public static let defaultContextChunks = 8
        /// The most characters of preceding text sent in a prompt (about 100 tokens; Whisper
        /// reads at most 224 tokens of prompt, the user's prompt and glossary included).
        public static let maxPrecedingCharacters = 400

        /// The API's base URL, such as `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1`.
        public var baseURL: String
        /// Appended to ``baseURL``: `/audio/transcriptions` unless the server uses another path.
        public var requestPath: String
        /// The model name the server knows, such as `whisper-1` or `Systran/faster-whisper-small`.
        public var model: String
        /// The spoken language as an ISO-639-1 code (`en`), or nil to let the server detect it.
        public var language: String?
        /// Text to guide the model's style or vocabulary, sent with every chunk.
        public var prompt: String?
        /// Consecutive chunks decoded in order, each sent with the end of what the ones before
        /// it said as the prompt (after ``prompt``), as Whisper's own long-form decoding
        /// conditions on the text before; runs decode in parallel. 1 sends every chunk cold.
        public var contextChunks: Int
        /// The bearer token, or nil for servers that need none. Never logged or written out.
        public var apiKey: String?
        /// How long one request may take, from connecting to the last byte of the response.
        public var requestTimeout: Duration
        /// Retries after the first attempt, for 429, 5xx, timeouts and broken connections.
        public var maxRetries: Int
        /// The first retry's delay; each later one doubles it, up to ``maxRetryDelay``.
        public var initialRetryDelay: Duration
        /// The longest wait between attempts, Retry-After included.
        public var maxRetryDelay: Duration
        /// Responses larger than this are refused (a transcript of a 30 s chunk is a few KB).
        public var maxResponseBytes: Int

        /// A configuration; only `baseURL` and `model` matter to most servers.
        public init(
            baseURL: String = defaultBaseURL,
            requestPath: String = defaultRequestPath,
            model: String = defaultModel,
            language: String? = nil,
            prompt: String? = nil,
            contextChunks: Int = defaultContextChunks,
            apiKey: String? = nil,
            requestTimeout: Duration = .seconds(120),
            maxRetries: Int = 4,
            initialRetryDelay: Duration = .milliseconds(500),
            maxRetryDelay: Duration = .seconds(60),
            maxResponseBytes: Int = 4 * 1_048_576
        ) {
            self.baseURL = baseURL
            self.requestPath = requestPath
            self.model = model
            self.language = language
            self.prompt = prompt
            self.contextChunks = contextChunks
            self.apiKey = apiKey
            self.requestTimeout = requestTimeout
            self.maxRetries = maxRetries
            self.initialRetryDelay = initialRetryDelay
            self.maxRetryDelay = maxRetryDelay
            self.maxResponseBytes = maxResponseBytes
        }

        /// The URL chunks are posted to: ``baseURL`` and ``requestPath`` joined by one slash.
        public var transcriptionURL: String {
            var base = baseURL
            while base.hasSuffix("/") { base.removeLast() }
            let path = requestPath.hasPrefix("/") ? requestPath : "/" + requestPath
            return base + path
        }

        /// Refuses what cannot work: a URL that is not http(s), an empty model, negative limits.
        public func validate() throws {
            let url = transcriptionURL
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.split(separator: "/").count >= 2 else {
                throw HearingAIError(.invalidOptions, reason: "base URL \(baseURL) is not an http:// or https:// URL")
            }
            guard !model.isEmpty else {
                throw HearingAIError(.invalidOptions, reason: "the model name is empty")
            }
            guard requestTimeout > .zero else {
                throw HearingAIError(.invalidOptions, reason: "the request timeout must be positive")
            }
            guard maxRetries >= 0 else {
                throw HearingAIError(.invalidOptions, reason: "retries must be 0 or more")
            }
            guard (1...10_000).contains(contextChunks) else {
                throw HearingAIError(.invalidOptions, reason: "--context-chunks must be between 1 and 10000 (got \(contextChunks))")
            }
        }

        /// The prompt for a chunk: ``prompt`` (with the glossary), then the end of
        /// `precedingText` in whole words, at most ``maxPrecedingCharacters``. Nil when both are
        /// empty.
        public func prompt(precedingText: String?) -> String? {
            var tail = Substring(precedingText ?? "")
            if tail.count > Self.maxPrecedingCharacters {
                tail = tail.suffix(Self.maxPrecedingCharacters)
                // Whole words: drop the cut one.
                if let space = tail.firstIndex(where: \.isWhitespace) { tail = tail[space...] }
            }
            let preceding = tail.trimmingCharacters(in: .whitespacesAndNewlines)
            switch (prompt, preceding.isEmpty) {
            case (nil, true): return nil
            case (nil, false): return preceding
            case (let configured?, true): return configured
            case (let configured?, false): return configured + " " + preceding
            }
        }

        /// Everything but the key, which shows as `<redacted>` when set.
        public var description: String {
            "OpenAIEngine.Configuration(url: \(transcriptionURL), model: \(model), language: \(language ?? "auto"), "
                + "apiKey: \(apiKey == nil ? "none" : "<redacted>"), timeout: \(requestTimeout), retries: \(maxRetries), "
                + "contextChunks: \(contextChunks))"
        }
    }
}
