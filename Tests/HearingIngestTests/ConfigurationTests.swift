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
}
