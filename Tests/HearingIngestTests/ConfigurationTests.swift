import Configuration
import Foundation
import HearingAI
import SystemPackage
import Testing
@testable import HearingIngest
import TestSupport

@Suite("Ingest configuration")
struct ConfigurationTests {
    @Test("The engine: PocketSphinx by default; openai with its keys from the file, the environment and OPENAI_*")
    func engine() throws {
        let defaults = try IngestConfiguration(config: ConfigReader(provider: InMemoryProvider(values: [:])), environment: [:])
        #expect(defaults.engine == .pocketsphinx)

        let file = InMemoryProvider(values: [
            AbsoluteConfigKey(["engine"]): "openai",
            AbsoluteConfigKey(["openai_model"]): "Systran/faster-whisper-small",
            AbsoluteConfigKey(["openai_language"]): "de",
            AbsoluteConfigKey(["openai_request_timeout"]): 30.5,
            AbsoluteConfigKey(["openai_retries"]): 2,
        ])
        let env = EnvironmentVariablesProvider(environmentVariables: ["HEARINGAI_OPENAI_BASE_URL": "http://10.0.0.2:8000/v1"])
            .prefixKeys(with: "hearingai")
        let configuration = try IngestConfiguration(
            config: ConfigReader(providers: [env, file]), environment: ["OPENAI_API_KEY": "sk-from-env", "OPENAI_BASE_URL": "http://ignored/v1"])
        guard case .openai(let openAI) = configuration.engine else {
            Issue.record("engine: openai was not read")
            return
        }
        #expect(openAI.transcriptionURL == "http://10.0.0.2:8000/v1/audio/transcriptions")
        #expect(openAI.model == "Systran/faster-whisper-small")
        #expect(openAI.language == "de")
        #expect(openAI.prompt == nil)
        #expect(openAI.apiKey == "sk-from-env")
        #expect(openAI.requestTimeout == .milliseconds(30_500))
        #expect(openAI.maxRetries == 2)

        // The file's key wins over OPENAI_API_KEY; OPENAI_BASE_URL fills an unset base URL.
        let keyed = try IngestConfiguration(
            config: ConfigReader(provider: InMemoryProvider(values: [
                AbsoluteConfigKey(["engine"]): "openai", AbsoluteConfigKey(["openai_api_key"]): "sk-from-file",
            ])),
            environment: ["OPENAI_API_KEY": "sk-from-env", "OPENAI_BASE_URL": "http://127.0.0.1:9000/v1"])
        guard case .openai(let keyedOpenAI) = keyed.engine else {
            Issue.record("engine: openai was not read")
            return
        }
        #expect(keyedOpenAI.apiKey == "sk-from-file")
        #expect(keyedOpenAI.baseURL == "http://127.0.0.1:9000/v1")
        #expect(!"\(keyed.engine)".contains("sk-from-file"))

        #expect(throws: HearingAIError.self) {
            try IngestConfiguration(config: ConfigReader(provider: InMemoryProvider(values: [AbsoluteConfigKey(["engine"]): "whisper"])))
        }
        #expect(throws: HearingAIError.self) {
            try IngestConfiguration(config: ConfigReader(provider: InMemoryProvider(values: [
                AbsoluteConfigKey(["engine"]): "openai", AbsoluteConfigKey(["openai_base_url"]): "10.0.0.2:8000",
            ])))
        }
    }

    @Test("Flags over environment over the YAML file over defaults")
    func precedence() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("hearingai.yaml")
        try """
        inbox: /file/inbox
        outbox: /file/outbox
        formats: srt
        chunk_size: 20
        settle_seconds: 5
        max_attempts: 7
        """.write(to: file, atomically: true, encoding: .utf8)
        let reader = ConfigReader(providers: [
            InMemoryProvider(values: [AbsoluteConfigKey(["inbox"]): "/flag/inbox"]),
            EnvironmentVariablesProvider(environmentVariables: ["HEARINGAI_INBOX": "/env/inbox", "HEARINGAI_OUTBOX": "/env/outbox", "HEARINGAI_MAX_WORKERS": "1"])
                .prefixKeys(with: "hearingai"),
            try await FileProvider<YAMLSnapshot>(filePath: FilePath(file.path)),
        ])
        let configuration = try IngestConfiguration(config: reader, defaultRoot: "/defaults")
        #expect(configuration.inbox == "/flag/inbox")
        #expect(configuration.outbox == "/env/outbox")
        #expect(configuration.formats == [.srt])
        #expect(configuration.options.chunking.chunkSize == 20)
        #expect(configuration.options.maxWorkers == 1)
        #expect(configuration.settleTime == .seconds(5))
        #expect(configuration.maxAttempts == 7)
        #expect(configuration.processed == "/defaults/processed")
        #expect(configuration.database == "/defaults/queue.sqlite")
        #expect(configuration.options.chunking.overlap == ChunkPlan.defaultOverlap)
    }

    @Test("The shipped etc/hearingai.yaml parses and says what the docs say")
    func shippedDefaults() async throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("etc/hearingai.yaml").path
        let reader = ConfigReader(provider: try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)))
        let configuration = try IngestConfiguration(config: reader)
        #expect(configuration.inbox == "/var/spool/hearingai/inbox")
        #expect(configuration.database == "/var/lib/hearingai/queue.sqlite")
        #expect(configuration.formats == [.txt, .json])
        #expect(configuration.settleTime == .seconds(2))
        #expect(configuration.maxFileBytes == 20_480 * 1_048_576)
        #expect(configuration.engine == .pocketsphinx)
    }

    @Test("Bad values are refused")
    func invalid() {
        let reader = ConfigReader(provider: InMemoryProvider(values: [AbsoluteConfigKey(["formats"]): "docx"]))
        #expect(throws: HearingAIError.self) { _ = try IngestConfiguration(config: reader) }
        let overlap = ConfigReader(provider: InMemoryProvider(values: [AbsoluteConfigKey(["chunk_size"]): 10.0, AbsoluteConfigKey(["overlap"]): 5.0]))
        #expect(throws: HearingAIError.self) { _ = try IngestConfiguration(config: overlap) }
    }
}
