import Configuration
import Foundation
import HearingAI
import HearingIngest
import HearingMetrics
import Logging
import TestSupport
import Testing

@testable import HearingAIOpenAI

/// The metrics as `/metrics` will serve them, without the HTTP API: the real ingest service
/// runs in this process on real files (real inotify, SQLite and PocketSphinx), then the
/// exposition is rendered, parsed strictly as Prometheus text, and its counters compared with
/// what happened. Counters are the process's, so the checks are on what changed across the run.
@Suite("Prometheus metrics", .serialized, .timeLimit(.minutes(5)))
struct MetricsExpositionTests {
    static let names = [
        MetricName.jobsEnqueued, MetricName.jobsFinished, MetricName.queueJobs, MetricName.queueWait, MetricName.chunkDuration,
        MetricName.audioProcessed, MetricName.memoryLimit, MetricName.residentMemory, MetricName.lastSuccess, MetricName.buildInfo,
    ]

    @Test("After two files done and one failed, the text parses as Prometheus's and its counters match what happened")
    func countersMatch() async throws {
        MetricsExposition.bootstrap(version: "9.9.9-test")
        let dir = try temporaryDirectory(prefix: "hearingai-metrics")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = ConfigReader(
            provider: InMemoryProvider(values: [
                AbsoluteConfigKey(["settle_seconds"]): 0.2, AbsoluteConfigKey(["max_workers"]): 1,
            ]))
        let configuration = try IngestConfiguration(config: config, defaultRoot: dir.path)
        let ingest = try await IngestService(
            configuration: configuration, engine: try EngineRegistry.embedded.makeEngine(configuration.pipeline.engine),
            resources: ResourceManager(limit: nil), logger: Logger(label: "metrics-test"))
        let metrics = MetricsExposition(refresh: { await ingest.sampleMetrics() })
        let before = try PrometheusText(await metrics.render())

        let service = Task { try await ingest.run() }
        defer { service.cancel() }
        let inbox = URL(fileURLWithPath: configuration.inbox)
        let short = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/short.wav")))
        let stage = dir.appendingPathComponent("stage")
        try FileManager.default.createDirectory(at: stage, withIntermediateDirectories: true)
        try await Self.waitUntil("the inbox exists") { FileManager.default.fileExists(atPath: inbox.path) }
        // Two distinct contents (bytes after the data chunk), so both are transcribed.
        for (name, data) in [
            ("a.wav", short), ("b.wav", short + Data("HEARINGAI-METRICS".utf8)),
            ("bad.wav", try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("bad/notaudio.wav")))),
        ] {
            try data.write(to: stage.appendingPathComponent(name))
            try FileManager.default.moveItem(at: stage.appendingPathComponent(name), to: inbox.appendingPathComponent(name))
        }
        let outbox = URL(fileURLWithPath: configuration.outbox)
        try await Self.waitUntil("two transcripts and one failure") {
            let out = Set((try? FileManager.default.contentsOfDirectory(atPath: outbox.path)) ?? [])
            let failed = Set((try? FileManager.default.contentsOfDirectory(atPath: configuration.failed)) ?? [])
            let processed = Set((try? FileManager.default.contentsOfDirectory(atPath: configuration.processed)) ?? [])
            return out.isSuperset(of: ["a.json", "b.json"]) && failed.contains("bad.wav.error.json") && processed == ["a.wav", "b.wav"]
        }
        let text = await metrics.render()
        let after = try PrometheusText(text)
        service.cancel()
        _ = try? await service.value

        func delta(_ name: String, _ labels: [String: String] = [:]) -> Double {
            (after.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0)
        }
        for name in Self.names { #expect(after.types[name] != nil, "no # TYPE for \(name)\n\(text)") }
        #expect(after.types[MetricName.jobsFinished] == "counter")
        #expect(after.types[MetricName.queueWait] == "histogram")
        #expect(after.types[MetricName.chunkDuration] == "histogram")
        #expect(after.types[MetricName.queueJobs] == "gauge")

        #expect(delta(MetricName.jobsEnqueued, ["source": "inbox"]) == 3)
        #expect(delta(MetricName.jobsFinished, ["outcome": "done"]) == 2)
        #expect(delta(MetricName.jobsFinished, ["outcome": "failed"]) == 1)
        #expect(delta(MetricName.queueWait + "_count") == 3)
        #expect(delta(MetricName.chunkDuration + "_count") >= 2)
        #expect(delta(MetricName.chunkDuration + "_sum") > 0)

        var audio = 0.0
        for name in ["a.json", "b.json"] {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: outbox.appendingPathComponent(name))) as? [String: Any]
            audio += try #require((json?["metadata"] as? [String: Any])?["duration"] as? Double)
        }
        #expect(abs(delta(MetricName.audioProcessed) - audio) < 0.01, "audio processed vs. the transcripts' durations \(audio)")

        // Sampled at render: the queue as it is now, and this process's memory.
        #expect(after.value(MetricName.queueJobs, ["state": "done"]) == 2)
        #expect(after.value(MetricName.queueJobs, ["state": "failed"]) == 1)
        #expect(after.value(MetricName.queueJobs, ["state": "queued"]) == 0)
        #expect(after.value(MetricName.queueJobs, ["state": "running"]) == 0)
        #expect(after.value(MetricName.residentMemory) ?? 0 > 10_000_000)
        #expect(after.value(MetricName.memoryLimit) == 0)
        let lastSuccess = try #require(after.value(MetricName.lastSuccess))
        #expect(abs(Date().timeIntervalSince1970 - lastSuccess) < 120)
        #expect(after.value(MetricName.buildInfo, ["version": "9.9.9-test"]) == 1)
    }

    @Test("The OpenAI-compatible engine counts each HTTP answer by status code")
    func engineRequests() async throws {
        MetricsExposition.bootstrap(version: "9.9.9-test")
        let metrics = MetricsExposition()
        let server = try OpenAITestServer(["--fault", "503", "--no-decode"])
        defer { server.stop() }
        let before = try PrometheusText(await metrics.render())
        let engine = OpenAIEngine(
            configuration: OpenAIEngine.Configuration(
                baseURL: server.baseURL, requestTimeout: .seconds(30), maxRetries: 3, initialRetryDelay: .milliseconds(50),
                maxRetryDelay: .seconds(1)))
        let decoder = try await engine.makeDecoder()
        defer { decoder.close() }
        // A tone, not silence: a chunk without sound is not sent at all.
        let tone = (0..<16_000).map { Int16(3000 * sin(2 * Double.pi * 440 * Double($0) / 16_000)) }
        _ = try await decoder.decode(Chunk(index: 0, samples: tone, audioStart: 0, ownedStart: 0, ownedEnd: Int64(tone.count)))
        let after = try PrometheusText(await metrics.render())
        func delta(_ code: String) -> Double {
            (after.value(MetricName.engineRequests, ["code": code]) ?? 0) - (before.value(MetricName.engineRequests, ["code": code]) ?? 0)
        }
        #expect(after.types[MetricName.engineRequests] == "counter")
        #expect(delta("503") == 1)
        #expect(delta("200") == 1)
        #expect(try server.requests().map(\.status) == [503, 200])
    }

    static func waitUntil(_ what: String, timeout: Double = 120, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { throw PrometheusText.ParseError(description: "timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
