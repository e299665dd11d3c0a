import Configuration
import Foundation
import HearingAI
import HearingAIOpenAI
import Testing

@Suite("OpenAI engine configuration")
struct OpenAIConfigurationTests {
    static let engines = EngineRegistry.embedded.adding(OpenAIEngine.Factory())

    @Test("A vocabulary reaches the server as a glossary after the prompt")
    func vocabularyPrompt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearingai-vocab-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let terms = dir.appendingPathComponent("terms.txt")
        try "Kubernetes\nDr. Okonkwo\n".write(to: terms, atomically: true, encoding: .utf8)
        let file = InMemoryProvider(values: [
            AbsoluteConfigKey(["engine"]): "openai", AbsoluteConfigKey(["openai_base_url"]): "http://127.0.0.1:9/v1",
            AbsoluteConfigKey(["openai_prompt"]): "A team meeting.", AbsoluteConfigKey(["vocabulary"]): .init(stringLiteral: terms.path),
        ])
        let pipeline = try PipelineConfiguration(config: ConfigReader(provider: file), engines: Self.engines)
        let openAI = try OpenAIEngine.Factory.configuration(pipeline.engine)
        // The prompt is what every request's `prompt` field carries (OpenAIEngineTests/formFields).
        #expect(openAI.prompt == "A team meeting. Glossary: Kubernetes, Dr. Okonkwo.")
    }

    @Test("Its keys from the file, HEARINGAI_* and OPENAI_* variables, read through the pipeline's configuration")
    func keys() throws {
        let file = InMemoryProvider(values: [
            AbsoluteConfigKey(["engine"]): "openai",
            AbsoluteConfigKey(["openai_model"]): "Systran/faster-whisper-small",
            AbsoluteConfigKey(["openai_language"]): "de",
            AbsoluteConfigKey(["openai_request_timeout"]): 30.5,
            AbsoluteConfigKey(["openai_retries"]): 2,
        ])
        let env = EnvironmentVariablesProvider(environmentVariables: ["HEARINGAI_OPENAI_BASE_URL": "http://10.0.0.2:8000/v1"])
            .prefixKeys(with: "hearingai")
        let pipeline = try PipelineConfiguration(
            config: ConfigReader(providers: [env, file]), engines: Self.engines,
            environment: ["OPENAI_API_KEY": "sk-from-env", "OPENAI_BASE_URL": "http://ignored/v1"])
        #expect(pipeline.engine.name == "openai")
        let openAI = try OpenAIEngine.Factory.configuration(pipeline.engine)
        #expect(openAI.transcriptionURL == "http://10.0.0.2:8000/v1/audio/transcriptions")
        #expect(openAI.model == "Systran/faster-whisper-small")
        #expect(openAI.language == "de")
        #expect(openAI.prompt == nil)
        #expect(openAI.apiKey == "sk-from-env")
        #expect(openAI.requestTimeout == .milliseconds(30_500))
        #expect(openAI.maxRetries == 2)

        // The file's key wins over OPENAI_API_KEY; OPENAI_BASE_URL fills an unset base URL.
        let keyed = try PipelineConfiguration(
            config: ConfigReader(
                provider: InMemoryProvider(values: [
                    AbsoluteConfigKey(["engine"]): "openai", AbsoluteConfigKey(["openai_api_key"]): "sk-from-file",
                ])),
            engines: Self.engines, environment: ["OPENAI_API_KEY": "sk-from-env", "OPENAI_BASE_URL": "http://127.0.0.1:9000/v1"])
        let keyedOpenAI = try OpenAIEngine.Factory.configuration(keyed.engine)
        #expect(keyedOpenAI.apiKey == "sk-from-file")
        #expect(keyedOpenAI.baseURL == "http://127.0.0.1:9000/v1")

        // The key is a secret: not in the description, the encoding or the fingerprint.
        #expect(!"\(keyed.engine)".contains("sk-from-file"))
        let encoded = String(decoding: try JSONEncoder().encode(keyed), as: UTF8.self)
        #expect(!encoded.contains("sk-from-file"))
        var otherKey = keyed
        otherKey.engine.secrets["openai_api_key"] = "sk-other"
        #expect(otherKey.fingerprint == keyed.fingerprint)

        // A URL that is not http(s) is refused when the configuration is read, not at the first file.
        #expect(throws: HearingAIError.self) {
            try PipelineConfiguration(
                config: ConfigReader(
                    provider: InMemoryProvider(values: [
                        AbsoluteConfigKey(["engine"]): "openai", AbsoluteConfigKey(["openai_base_url"]): "10.0.0.2:8000",
                    ])),
                engines: Self.engines)
        }
        // Without this module's factory, openai is not an engine.
        #expect(throws: HearingAIError.self) {
            try PipelineConfiguration(config: ConfigReader(provider: InMemoryProvider(values: [AbsoluteConfigKey(["engine"]): "openai"])))
        }
    }
}
