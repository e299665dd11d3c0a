import Configuration
import Foundation
import HearingAI
import SystemPackage
import TestSupport
import Testing

@testable import HearingIngest

@Suite("Ingest configuration")
struct ConfigurationTests {
    @Test("The service's pipeline: its own default formats, the engine by name, every pipeline key")
    func pipeline() throws {
        let defaults = try IngestConfiguration(config: ConfigReader(provider: InMemoryProvider(values: [:])))
        #expect(defaults.pipeline.engine.name == "pocketsphinx")
        #expect(defaults.pipeline.formats == [.txt, .json])
        #expect(defaults.shutdownTimeout == .seconds(45))

        let configured = try IngestConfiguration(
            config: ConfigReader(
                provider: InMemoryProvider(values: [
                    AbsoluteConfigKey(["speakers"]): 2, AbsoluteConfigKey(["diarization"]): false, AbsoluteConfigKey(["memory_limit"]): 900,
                    AbsoluteConfigKey(["model_dir"]): "/srv/models/en-us", AbsoluteConfigKey(["segment_pause"]): 1.5,
                    AbsoluteConfigKey(["formats"]): "srt",
                ])))
        #expect(configured.pipeline.diarization.speakers == 2)
        #expect(configured.pipeline.diarization.enabled == false)
        #expect(configured.pipeline.memoryLimit?.megabytes == 900)
        #expect(configured.pipeline.engine.settings["model_dir"] == .string("/srv/models/en-us"))
        #expect(configured.pipeline.segmentPause == 1.5)
        #expect(configured.pipeline.formats == [.srt])

        // An engine this registry does not have is refused, naming those it has.
        #expect(throws: HearingAIError.self) {
            try IngestConfiguration(config: ConfigReader(provider: InMemoryProvider(values: [AbsoluteConfigKey(["engine"]): "whisper"])))
        }
        // A value of the wrong kind is an error, not a silent default.
        #expect(throws: HearingAIError.self) {
            try IngestConfiguration(config: ConfigReader(provider: InMemoryProvider(values: [AbsoluteConfigKey(["chunk_size"]): "long"])))
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
            EnvironmentVariablesProvider(environmentVariables: [
                "HEARINGAI_INBOX": "/env/inbox", "HEARINGAI_OUTBOX": "/env/outbox", "HEARINGAI_MAX_WORKERS": "1",
            ])
            .prefixKeys(with: "hearingai"),
            try await FileProvider<YAMLSnapshot>(filePath: FilePath(file.path)),
        ])
        let configuration = try IngestConfiguration(config: reader, defaultRoot: "/defaults")
        #expect(configuration.inbox == "/flag/inbox")
        #expect(configuration.outbox == "/env/outbox")
        #expect(configuration.pipeline.formats == [.srt])
        #expect(configuration.pipeline.chunking.chunkSize == 20)
        #expect(configuration.pipeline.maxWorkers == 1)
        #expect(configuration.settleTime == .seconds(5))
        #expect(configuration.maxAttempts == 7)
        #expect(configuration.processed == "/defaults/processed")
        #expect(configuration.database == "/defaults/queue.sqlite")
        #expect(configuration.pipeline.chunking.overlap == ChunkPlan.defaultOverlap)
    }

    @Test("The shipped etc/hearingai.yaml parses and says what the docs say")
    func shippedDefaults() async throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("etc/hearingai.yaml").path
        let reader = ConfigReader(provider: try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)))
        let configuration = try IngestConfiguration(config: reader)
        #expect(configuration.inbox == "/var/spool/hearingai/inbox")
        #expect(configuration.database == "/var/lib/hearingai/queue.sqlite")
        #expect(configuration.pipeline.formats == [.txt, .json])
        #expect(configuration.settleTime == .seconds(2))
        #expect(configuration.maxFileBytes == 20_480 * 1_048_576)
        #expect(configuration.pipeline.engine == .pocketsphinx)
    }

    @Test("Bad values are refused")
    func invalid() {
        let reader = ConfigReader(provider: InMemoryProvider(values: [AbsoluteConfigKey(["formats"]): "docx"]))
        #expect(throws: HearingAIError.self) { _ = try IngestConfiguration(config: reader) }
        let overlap = ConfigReader(
            provider: InMemoryProvider(values: [AbsoluteConfigKey(["chunk_size"]): 10.0, AbsoluteConfigKey(["overlap"]): 5.0]))
        #expect(throws: HearingAIError.self) { _ = try IngestConfiguration(config: overlap) }
    }

    @Test("Webhook keys: a list from a repeated flag, a YAML list or a comma-separated variable; a secret file is required")
    func webhooks() async throws {
        let none = try IngestConfiguration(config: ConfigReader(provider: InMemoryProvider(values: [:])))
        #expect(none.webhookURLs.isEmpty && none.webhookSecretFile == nil && none.webhookMaxAttempts == 12)

        let flags = try IngestConfiguration(
            config: ConfigReader(
                provider: InMemoryProvider(values: [
                    AbsoluteConfigKey(["webhook_url"]): ConfigValue(
                        .stringArray(["http://a.test/x", "https://b.test/y?p=1,2"]), isSecret: false),
                    AbsoluteConfigKey(["webhook_secret_file"]): "/etc/secret", AbsoluteConfigKey(["webhook_max_attempts"]): 3,
                ])))
        #expect(flags.webhookURLs == ["http://a.test/x", "https://b.test/y?p=1,2"])
        #expect(flags.webhookSecretFile == "/etc/secret")
        #expect(flags.webhookMaxAttempts == 3)

        let environment = try IngestConfiguration(
            config: ConfigReader(
                provider: EnvironmentVariablesProvider(environmentVariables: [
                    "HEARINGAI_WEBHOOK_URL": "http://a.test/x, http://b.test/y", "HEARINGAI_WEBHOOK_SECRET_FILE": "/s",
                ])
                .prefixKeys(with: "hearingai")))
        #expect(environment.webhookURLs == ["http://a.test/x", "http://b.test/y"])

        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("hearingai.yaml")
        try """
        webhook_url:
          - http://a.test/x
          - http://b.test/y
        webhook_secret_file: /s
        """.write(to: file, atomically: true, encoding: .utf8)
        let yaml = try IngestConfiguration(
            config: ConfigReader(provider: try await FileProvider<YAMLSnapshot>(filePath: FilePath(file.path))))
        #expect(yaml.webhookURLs == ["http://a.test/x", "http://b.test/y"])
        try "webhook_url: http://a.test/x\nwebhook_secret_file: /s\n".write(to: file, atomically: true, encoding: .utf8)
        let single = try IngestConfiguration(
            config: ConfigReader(provider: try await FileProvider<YAMLSnapshot>(filePath: FilePath(file.path))))
        #expect(single.webhookURLs == ["http://a.test/x"])

        // Without a secret, or not http(s): refused, not sent unsigned or nowhere.
        #expect(throws: HearingAIError.self) {
            _ = try IngestConfiguration(
                config: ConfigReader(provider: InMemoryProvider(values: [AbsoluteConfigKey(["webhook_url"]): "http://a.test/x"])))
        }
        #expect(throws: HearingAIError.self) {
            _ = try IngestConfiguration(
                config: ConfigReader(
                    provider: InMemoryProvider(values: [
                        AbsoluteConfigKey(["webhook_url"]): "file:///etc/passwd", AbsoluteConfigKey(["webhook_secret_file"]): "/s",
                    ])))
        }
    }

    @Test("The webhook secret is the file's first line, and never shows in a description")
    func webhookSecret() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("secret").path
        try "s3cret\r\nignored\n".write(toFile: path, atomically: true, encoding: .utf8)
        let secret = try WebhookSecret(file: path)
        #expect(secret.bytes == Array("s3cret".utf8))
        #expect(!"\(secret)".contains("s3cret"))
        let body = Data("{}".utf8)
        #expect(WebhookSignature.value(body: body, secret: secret) == "sha256=" + HMACSHA256.hex(of: body, key: Array("s3cret".utf8)))
        try "\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: HearingAIError.self) { _ = try WebhookSecret(file: path) }
        #expect(throws: HearingAIError.self) { _ = try WebhookSecret(file: dir.appendingPathComponent("missing").path) }
    }
}
