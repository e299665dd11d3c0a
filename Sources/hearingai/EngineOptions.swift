import ArgumentParser
import Configuration
import Foundation
import HearingAI
import HearingAIOpenAI

/// The engines `--engine` can name.
enum EngineKind: String, CaseIterable, ExpressibleByArgument {
    case pocketsphinx, openai
}

/// Which engine transcribes, and how to reach an OpenAI-compatible server.
struct EngineOptions: ParsableArguments {
    @Option(help: "Transcription engine: pocketsphinx (embedded, offline) or openai (an OpenAI-compatible server).")
    var engine: EngineKind?

    @Option(name: .customLong("base-url"), help: "OpenAI-compatible API base URL (default: $OPENAI_BASE_URL or \(OpenAIEngine.Configuration.defaultBaseURL)).")
    var baseURL: String?

    @Option(name: .customLong("request-path"), help: "Path after the base URL that transcribes (default: \(OpenAIEngine.Configuration.defaultRequestPath)).")
    var requestPath: String?

    @Option(help: "Model name on the server (default: \(OpenAIEngine.Configuration.defaultModel)).")
    var model: String?

    @Option(help: "Spoken language as an ISO-639-1 code, such as en (default: the server detects it).")
    var language: String?

    @Option(help: "Text that guides the model's spelling and style, sent with every chunk.")
    var prompt: String?

    @Option(name: .customLong("request-timeout"), help: "Seconds one request may take before it is retried (default: 120).")
    var requestTimeout: Double?

    @Option(help: "Retries of a request after 429, 5xx, a timeout or a broken connection (default: 4).")
    var retries: Int?

    /// Whether any flag of the OpenAI engine was given.
    var openAIFlagsGiven: Bool {
        baseURL != nil || requestPath != nil || model != nil || language != nil || prompt != nil || requestTimeout != nil || retries != nil
    }

    /// The flags that repeat this choice in a later run (`--resume`); never the key.
    var repeatableArguments: [String] {
        var args: [String] = []
        if let engine { args += ["--engine", engine.rawValue] }
        if let baseURL { args += ["--base-url", baseURL] }
        if let requestPath { args += ["--request-path", requestPath] }
        if let model { args += ["--model", model] }
        if let language { args += ["--language", language] }
        if let prompt { args += ["--prompt", prompt] }
        if let requestTimeout { args += ["--request-timeout", "\(requestTimeout)"] }
        if let retries { args += ["--retries", "\(retries)"] }
        return args
    }

    /// These flags as the service's configuration keys (`engine`, `openai_base_url`, ...).
    var configurationFlags: [String: ConfigValue] {
        var flags: [String: ConfigValue] = [:]
        func set(_ key: String, _ value: ConfigContent?) {
            if let value { flags[key] = ConfigValue(value, isSecret: false) }
        }
        set("engine", engine.map { .string($0.rawValue) })
        set("openai_base_url", baseURL.map { .string($0) })
        set("openai_request_path", requestPath.map { .string($0) })
        set("openai_model", model.map { .string($0) })
        set("openai_language", language.map { .string($0) })
        set("openai_prompt", prompt.map { .string($0) })
        set("openai_request_timeout", requestTimeout.map { .double($0) })
        set("openai_retries", retries.map { .int($0) })
        return flags
    }

    /// The OpenAI engine's configuration from these flags over `environment`
    /// (`OPENAI_API_KEY`, `OPENAI_BASE_URL`) over the defaults.
    func openAIConfiguration(environment: [String: String] = ProcessInfo.processInfo.environment) -> OpenAIEngine.Configuration {
        var configuration = OpenAIEngine.Configuration()
        configuration.baseURL = baseURL ?? environment["OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? configuration.baseURL
        if let requestPath { configuration.requestPath = requestPath }
        if let model { configuration.model = model }
        configuration.language = language
        configuration.prompt = prompt
        configuration.apiKey = environment["OPENAI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if let requestTimeout { configuration.requestTimeout = .milliseconds(Int64(requestTimeout * 1000)) }
        if let retries { configuration.maxRetries = retries }
        return configuration
    }
}
