public import HearingAI

extension OpenAIEngine {
    /// Makes the OpenAI-compatible engine from configuration. Register it with
    /// `EngineRegistry.embedded.adding(OpenAIEngine.Factory())`.
    public struct Factory: EngineFactory {
        /// `openai`.
        public static let name = "openai"

        /// The factory.
        public init() {}

        public var name: String { Self.name }
        public var summary: String { "an OpenAI-compatible server" }

        /// `openai_base_url` (`--base-url`; `OPENAI_BASE_URL` when unset).
        public static let baseURL = ConfigurationKey(
            "openai_base_url", .string, flag: "--base-url", default: "$OPENAI_BASE_URL or \(Configuration.defaultBaseURL)",
            help: "OpenAI-compatible API base URL.", environmentFallbacks: ["OPENAI_BASE_URL"])
        /// `openai_request_path` (`--request-path`).
        public static let requestPath = ConfigurationKey(
            "openai_request_path", .string, flag: "--request-path", default: Configuration.defaultRequestPath,
            help: "Path after the base URL that transcribes.")
        /// `openai_model` (`--model`).
        public static let model = ConfigurationKey(
            "openai_model", .string, flag: "--model", default: Configuration.defaultModel, help: "Model name on the server.")
        /// `openai_language` (`--language`).
        public static let language = ConfigurationKey(
            "openai_language", .string, flag: "--language", default: "detected by the server",
            help: "Spoken language as an ISO-639-1 code, such as en.")
        /// `openai_prompt` (`--prompt`).
        public static let prompt = ConfigurationKey(
            "openai_prompt", .string, flag: "--prompt", default: "none",
            help: "Text that guides the model's spelling and style, sent with every chunk.")
        /// `openai_context_chunks` (`--context-chunks`).
        public static let contextChunks = ConfigurationKey(
            "openai_context_chunks", .int, flag: "--context-chunks", default: String(Configuration.defaultContextChunks),
            help: "Chunks decoded in order, each prompted with the text before it; 1 sends chunks cold.")
        /// `openai_api_key` (file or environment only; `OPENAI_API_KEY` when unset).
        public static let apiKey = ConfigurationKey(
            "openai_api_key", .string, default: "$OPENAI_API_KEY", help: "The bearer token (a secret: never logged).",
            isSecret: true, environmentFallbacks: ["OPENAI_API_KEY"])
        /// `openai_request_timeout` (`--request-timeout`).
        public static let requestTimeout = ConfigurationKey(
            "openai_request_timeout", .double, flag: "--request-timeout", default: "120",
            help: "Seconds one request may take before it is retried.")
        /// `openai_retries` (`--retries`).
        public static let retries = ConfigurationKey(
            "openai_retries", .int, flag: "--retries", default: "4",
            help: "Retries of a request after 429, 5xx, a timeout or a broken connection.")

        public var keys: [ConfigurationKey] {
            [
                Self.baseURL, Self.requestPath, Self.model, Self.language, Self.prompt, Self.contextChunks, Self.apiKey,
                Self.requestTimeout, Self.retries,
            ]
        }

        public func makeEngine(_ selection: EngineSelection) throws -> any TranscriptionEngine {
            OpenAIEngine(configuration: try Self.configuration(selection))
        }

        /// The engine's configuration from `selection`'s settings over the defaults.
        public static func configuration(_ selection: EngineSelection) throws -> Configuration {
            func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
            var configuration = Configuration()
            configuration.baseURL = nonEmpty(selection.string(baseURL.name)) ?? configuration.baseURL
            configuration.requestPath = nonEmpty(selection.string(requestPath.name)) ?? configuration.requestPath
            configuration.model = selection.string(model.name) ?? configuration.model
            configuration.language = nonEmpty(selection.string(language.name))
            // The vocabulary's terms follow the user's prompt: Whisper spells what its prompt
            // spells.
            configuration.prompt = nonEmpty(selection.string(prompt.name))
            if let vocabulary = selection.vocabulary { configuration.prompt = vocabulary.promptText(after: configuration.prompt) }
            configuration.contextChunks = selection.int(contextChunks.name) ?? configuration.contextChunks
            configuration.apiKey = nonEmpty(selection.secrets[apiKey.name])
            if let seconds = selection.double(requestTimeout.name) {
                configuration.requestTimeout = .milliseconds(Int64(seconds * 1000))
            }
            configuration.maxRetries = selection.int(retries.name) ?? configuration.maxRetries
            try configuration.validate()
            return configuration
        }
    }
}
