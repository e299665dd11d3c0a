import Foundation
import HearingAI
import HearingAIOpenAI
import HearingAPI
import HearingIngest
import TestSupport
import Testing

/// One configuration, seen from outside: the flags, the docs and the service agree with the
/// keys declared in the code, and the defects of the hand-made keys stay fixed.
@Suite("Configuration end to end", .serialized, .timeLimit(.minutes(10)))
struct ConfigurationCommandTests {
    /// Every key the code declares: the pipeline's, the service's, every engine's, and
    /// `transcribe`'s own `cache_dir`.
    static var allKeys: [ConfigurationKey] {
        PipelineConfiguration.keys + IngestConfiguration.keys + APIConfiguration.keys
            + EngineRegistry.embedded.adding(OpenAIEngine.Factory()).keys
    }

    @Test("docs/configuration.md names every key and every flag the code declares")
    func docsNameEveryKey() throws {
        let doc = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        for key in Self.allKeys {
            #expect(
                doc.contains("`\(key.name)`") || doc.contains("`\(key.name)`,") || doc.contains(key.environmentVariable),
                "docs/configuration.md does not mention the key \(key.name)")
            if let flag = key.flag {
                #expect(doc.contains("`\(flag)"), "docs/configuration.md does not mention \(flag)")
            }
        }
    }

    @Test("Every key with a flag has it on transcribe and watch, with the key's help")
    func flagsMatchKeys() throws {
        func options(_ command: String) throws -> [String: String] {
            let result = try BinaryRunner.run([command, "--experimental-dump-help"])
            let tool = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let arguments = ((tool?["command"] as? [String: Any])?["arguments"] as? [[String: Any]]) ?? []
            var byName: [String: String] = [:]
            for argument in arguments {
                for name in (argument["names"] as? [[String: Any]]) ?? [] where name["kind"] as? String == "long" {
                    byName["--" + (name["name"] as? String ?? "")] = argument["abstract"] as? String ?? ""
                }
            }
            return byName
        }
        let transcribe = try options("transcribe")
        let watch = try options("watch")
        #expect(!transcribe.isEmpty && !watch.isEmpty)
        let transcribeOnly: Set<String> = ["--start-time", "--end-time", "--sample-duration"]
        let watchOnly = Set((IngestConfiguration.keys + APIConfiguration.keys).compactMap(\.flag))
        for key in Self.allKeys {
            guard let flag = key.flag else { continue }
            if !watchOnly.contains(flag), flag != "--formats" {
                // A flag that turns a key off (--no-diarization) says so in its own words.
                let help = key.kind == .bool && flag.hasPrefix("--no-") ? "" : key.help
                #expect(transcribe[flag]?.hasPrefix(help) == true, "transcribe \(flag): \(transcribe[flag] ?? "missing")")
            }
            if !transcribeOnly.contains(flag) {
                #expect(watch[flag] != nil, "watch has no \(flag)")
            }
        }
    }

    @Test("watch refuses --cache-dir (it checkpoints in its database) instead of ignoring it")
    func watchRefusesCacheDir() throws {
        let result = try BinaryRunner.run(["watch", "--cache-dir", "/tmp/ignored"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--cache-dir"))
    }

    @Test("cache clean and jobs retry report failures as one hearingai: line, exit 1")
    func oneLineErrors() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let notADirectory = dir.appendingPathComponent("cache-file")
        try Data("x".utf8).write(to: notADirectory)
        let clean = try BinaryRunner.run(["cache", "clean", "--cache-dir", notADirectory.path])
        #expect(clean.status == 1)
        #expect(clean.stderr.hasPrefix("hearingai: \(notADirectory.path): "), "\(clean.stderr)")
        #expect(clean.stderr.split(separator: "\n").count == 1)

        let service = try ServiceProcess()
        defer { service.cleanup() }
        try service.start()
        try service.terminate()
        let retry = try service.cli(["jobs", "retry", "99"])
        #expect(retry.status == 1)
        #expect(retry.stderr == "hearingai: job 99: no such job\n")
        let badConfig = try service.cli(["status", "--config", dir.appendingPathComponent("missing.yaml").path])
        #expect(badConfig.status == 1)
        #expect(badConfig.stderr.hasPrefix("hearingai: ") && !badConfig.stderr.contains("Error:"))
    }

    @Test("Changing --speakers between runs transcribes the same audio again: no stale labels from the result store")
    func resultStoreFollowsTheConfiguration() throws {
        let stage = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: stage) }
        // Twenty seconds of the two-voice conversation: four turns, two voices.
        let excerpt = stage.appendingPathComponent("excerpt.wav").path
        let cut = try runProcess("/usr/bin/sox", [TestPaths.fixture("speech/conversation.wav"), excerpt, "trim", "0", "20.5"])
        #expect(cut.status == 0, "\(cut.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: excerpt))

        let service = try ServiceProcess(["--formats", "json", "--max-workers", "1"])
        defer { service.cleanup() }
        try service.start()
        try service.dropByRename(data, name: "first.wav")
        try service.waitUntil("first.wav processed", timeout: 120) { ServiceProcess.names(service.processed) == ["first.wav"] }
        #expect(try Self.speakers(in: service.outbox.appendingPathComponent("first.json")) == 2)
        try service.terminate()

        // Same bytes, another name, one speaker asked for.
        try service.start(arguments: ["watch"] + service.directoryArguments + service.watchArguments + ["--speakers", "1"])
        try service.dropByRename(data, name: "again.wav")
        try service.waitUntil("again.wav processed", timeout: 120) { ServiceProcess.names(service.processed).contains("again.wav") }
        #expect(try Self.speakers(in: service.outbox.appendingPathComponent("again.json")) == 1)
        #expect(service.lines(containing: "Same content transcribed before", run: 2).isEmpty)

        // And the same configuration again does reuse the stored result.
        try service.dropByRename(data, name: "third.wav")
        try service.waitUntil("third.wav processed", timeout: 120) { ServiceProcess.names(service.processed).contains("third.wav") }
        #expect(service.lines(containing: "Same content transcribed before", run: 2).count == 1)
        #expect(try Self.speakers(in: service.outbox.appendingPathComponent("third.json")) == 1)
    }

    @Test("watch takes the PocketSphinx model and the memory limit from its configuration")
    func serviceModelAndLimit() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dictionary = dir.appendingPathComponent("my.dict")
        try FileManager.default.copyItem(atPath: PocketSphinxModel().dictionary, toPath: dictionary.path)
        let config = dir.appendingPathComponent("hearingai.yaml")
        try "memory_limit: 3000\nformats: json\n".write(to: config, atomically: true, encoding: .utf8)

        let service = try ServiceProcess(["--config", config.path, "--dictionary", dictionary.path])
        defer { service.cleanup() }
        try service.start()
        try service.dropByRename(try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/short.wav"))), name: "short.wav")
        try service.waitUntil("short.wav processed", timeout: 60) { ServiceProcess.names(service.processed) == ["short.wav"] }
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: service.outbox.appendingPathComponent("short.json"))) as? [String: Any]
        let metadata = json?["metadata"] as? [String: Any]
        #expect((metadata?["model"] as? String)?.contains("dict=\(dictionary.path)") == true, "\(metadata?["model"] ?? "")")
        let memory = metadata?["memory"] as? [String: Any]
        #expect(memory?["limitMB"] as? Int == 3000)
        #expect(memory?["limitSource"] as? String == "configuration (\(config.path))")
    }

    /// The number of speakers a JSON transcript reports.
    static func speakers(in url: URL) throws -> Int? {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        return ((json?["metadata"] as? [String: Any])?["diarization"] as? [String: Any])?["speakers"] as? Int
    }
}
