import Foundation
import TestSupport
import Testing

/// The real binary on real files.
@Suite("hearingai transcribe", .timeLimit(.minutes(10)))
struct TranscribeCommandTests {
    /// Copies a fixture into a fresh directory, so outputs land beside it there.
    static func staged(_ relative: String) throws -> (dir: URL, file: URL) {
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        let source = URL(fileURLWithPath: TestPaths.fixture(relative))
        let file = dir.appendingPathComponent(source.lastPathComponent)
        try FileManager.default.copyItem(at: source, to: file)
        return (dir, file)
    }

    @Test("The seed's form works: default subcommand, --chunk-size, --max-workers, --verbose")
    func seedForm() throws {
        let (dir, file) = try Self.staged("speech/conversation.wav")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try BinaryRunner.run([file.path, "--chunk-size", "10", "--max-workers", "2", "--verbose"])
        #expect(result.status == 0, "\(result.stderr)")
        let txt = dir.appendingPathComponent("conversation.txt")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == txt.path)
        let text = try String(contentsOf: txt, encoding: .utf8)
        #expect(text.split(separator: " ").count > 50)
        // One log line per chunk off a terminal, and the run's memory figures.
        let chunkLines = result.stderr.split(separator: "\n").filter { $0.contains("Chunk done") }
        #expect(chunkLines.count >= 6)
        #expect(result.stderr.contains("memory.workers_allowed"))
        #expect(result.stderr.contains("memory.peak_mb"))
        #expect(!result.stderr.contains("\u{1B}["), "no progress bar off a terminal")
    }

    @Test("Several formats, comma-separated and repeated, to an output directory")
    func formats() throws {
        let (dir, file) = try Self.staged("speech/short.wav")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let result = try BinaryRunner.run(["transcribe", file.path, "-f", "txt,json", "--format", "srt", "-f", "vtt,md", "-o", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(names == ["short.json", "short.md", "short.srt", "short.txt", "short.vtt"])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("short.json"))) as? [String: Any]
        #expect((json?["segments"] as? [Any])?.isEmpty == false)
        #expect(try String(contentsOf: out.appendingPathComponent("short.vtt"), encoding: .utf8).hasPrefix("WEBVTT"))
    }

    @Test("A speaker per channel: the channels' names in every format; dual mono falls back to voices with a warning")
    func speakerPerChannel() throws {
        let (dir, file) = try Self.staged("studio/duo-2ch.wav")
        defer { try? FileManager.default.removeItem(at: dir) }
        // The flag turns it on, the environment names the channels: one configuration.
        let result = try BinaryRunner.run(
            [file.path, "--speaker-per-channel", "-f", "txt,json,srt,vtt,md"], environment: ["HEARINGAI_CHANNEL_NAMES": "Host,Guest"])
        #expect(result.status == 0, "\(result.stderr)")
        for ext in ["txt", "json", "srt", "vtt", "md"] {
            let text = try String(contentsOf: dir.appendingPathComponent("duo-2ch.\(ext)"), encoding: .utf8)
            #expect(text.contains("Host") && text.contains("Guest"), "duo-2ch.\(ext): \(text.prefix(400))")
            #expect(!text.contains("Speaker 1"), "duo-2ch.\(ext)")
        }
        let vtt = try String(contentsOf: dir.appendingPathComponent("duo-2ch.vtt"), encoding: .utf8)
        #expect(vtt.contains("<v Host>") && vtt.contains("<v Guest>"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("duo-2ch.json"))) as? [String: Any]
        let diarization = (json?["metadata"] as? [String: Any])?["diarization"] as? [String: Any]
        #expect(diarization?["method"] as? String == "channels", "\(String(describing: diarization))")
        #expect(diarization?["speakers"] as? Int == 2)

        let (monoDir, mono) = try Self.staged("studio/dual-mono.wav")
        defer { try? FileManager.default.removeItem(at: monoDir) }
        let fallback = try BinaryRunner.run([mono.path, "--speaker-per-channel", "--channel-names", "Host,Guest", "-f", "json"])
        #expect(fallback.status == 0, "\(fallback.stderr)")
        #expect(fallback.stderr.contains("dual mono"), "a warning says why: \(fallback.stderr)")
        let monoJSON =
            try JSONSerialization.jsonObject(with: Data(contentsOf: monoDir.appendingPathComponent("dual-mono.json"))) as? [String: Any]
        let monoDiarization = (monoJSON?["metadata"] as? [String: Any])?["diarization"] as? [String: Any]
        #expect((monoDiarization?["note"] as? String)?.contains("dual mono") == true, "\(String(describing: monoDiarization))")
        #expect(monoDiarization?["method"] == nil)
        #expect(monoDiarization?["speakers"] as? Int == 2, "found by voice")
    }

    @Test("-o DIR/ that does not exist yet is made; one that cannot be made fails before any decoding")
    func outputDirectoryMade() throws {
        let (dir, file) = try Self.staged("speech/short.wav")
        defer { try? FileManager.default.removeItem(at: dir) }
        let nested = dir.appendingPathComponent("new/deeper")
        let made = try BinaryRunner.run([file.path, "-f", "txt,json", "-o", nested.path + "/"])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: nested.path).sorted() == ["short.json", "short.txt"])

        let clock = ContinuousClock()
        let started = clock.now
        let refused = try BinaryRunner.run([
            TestPaths.fixture("speech/long.wav"), "-o", "/proc/hearingai-out/", "--cache-dir", dir.path + "/cache",
        ])
        #expect(refused.status == 1)
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(refused.stderr.hasPrefix("hearingai: /proc/hearingai-out/: cannot create the output directory"), "\(refused.stderr)")
        #expect(clock.now - started < .seconds(5), "refused before the 185 s file is decoded")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("cache").path))
    }

    @Test("-o FILE with one format writes exactly that file")
    func outputFile() throws {
        let (dir, file) = try Self.staged("speech/short.wav")
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("named.srt")
        let result = try BinaryRunner.run([file.path, "-f", "srt", "-o", target.path, "--sample-duration", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: target.path))
        #expect(try String(contentsOf: target, encoding: .utf8).hasPrefix("1\n00:00:0"))
    }

    /// `metadata.timings.engineLoad` of a JSON transcript.
    static func engineLoad(_ url: URL) throws -> Double? {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        let timings = (json?["metadata"] as? [String: Any])?["timings"] as? [String: Any]
        return timings?["engineLoad"] as? Double
    }

    @Test("Several files: each its own outputs, the engine loaded once; a bad one is one line naming it, the rest still run, exit 1")
    func severalFiles() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let short = URL(fileURLWithPath: TestPaths.fixture("speech/short.wav"))
        let (a, b, bad) = (dir.appendingPathComponent("a.wav"), dir.appendingPathComponent("b.wav"), dir.appendingPathComponent("bad.wav"))
        try FileManager.default.copyItem(at: short, to: a)
        try FileManager.default.copyItem(at: short, to: b)
        try FileManager.default.copyItem(at: URL(fileURLWithPath: TestPaths.fixture("bad/notaudio.wav")), to: bad)
        let out = dir.appendingPathComponent("out")

        let result = try BinaryRunner.run(["transcribe", a.path, bad.path, b.path, "-f", "txt,json", "-o", out.path + "/"])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.hasPrefix("hearingai: \(bad.path): ") == true, "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == ["a.json", "a.txt", "b.json", "b.txt"])
        #expect(result.stdout.split(separator: "\n").count == 4)
        let reference = try String(contentsOf: out.appendingPathComponent("a.txt"), encoding: .utf8)
        #expect(reference.split(separator: " ").count > 3)
        #expect(try String(contentsOf: out.appendingPathComponent("b.txt"), encoding: .utf8) == reference)
        // The first file loaded the decoder; the second reused it.
        #expect((try Self.engineLoad(out.appendingPathComponent("a.json")) ?? 0) > 0)
        #expect(try Self.engineLoad(out.appendingPathComponent("b.json")) == 0)

        // All good: exit 0, outputs beside each input.
        let good = try BinaryRunner.run([a.path, b.path, "-f", "txt"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("a.txt").path))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("b.txt").path))
    }

    @Test("-o FILE with several inputs is refused before anything runs")
    func severalFilesOneOutput() throws {
        let (dir, file) = try Self.staged("speech/short.wav")
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("both.txt")
        let result = try BinaryRunner.run([file.path, file.path, "-f", "txt", "-o", target.path])
        #expect(result.status == 64)
        #expect(result.stderr.contains("names one output file, but 2 inputs were given"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == [file.lastPathComponent])
    }

    @Test(
        "Bad input: one line naming the file and the reason, exit 1, no output",
        arguments: [
            "bad/empty.wav", "bad/notaudio.wav", "bad/truncated.wav", "bad/lying.wav", "bad/random.bin", "bad/hugechannels.wav",
        ])
    func badInput(relative: String) throws {
        let (dir, file) = try Self.staged(relative)
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try BinaryRunner.run([file.path, "-f", "txt,json"])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.hasPrefix("hearingai: \(file.path): ") == true, "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == [file.lastPathComponent])
    }

    @Test("A missing file and a directory are refused the same way")
    func unreadable() throws {
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = try BinaryRunner.run([dir.appendingPathComponent("nope.wav").path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("nope.wav: cannot open: No such file or directory"))
        let directory = try BinaryRunner.run([dir.path])
        #expect(directory.status == 1)
        #expect(directory.stderr.contains("is a directory"))
    }

    @Test("A memory limit that fits one decoder runs one worker and stays under the limit")
    func memoryLimit() throws {
        let (dir, file) = try Self.staged("speech/conversation.wav")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try BinaryRunner.run([
            file.path, "--memory-limit", "160", "--max-workers", "2", "--chunk-size", "10", "-f", "json", "--verbose",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let object =
            try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("conversation.json"))) as? [String: Any]
        let memory = try #require((object?["metadata"] as? [String: Any])?["memory"] as? [String: Any])
        #expect(memory["limitMB"] as? Int == 160)
        #expect(memory["limitSource"] as? String == "flag")
        #expect(memory["workersAllowed"] as? Int == 1)
        let peak = try #require(memory["peakRSSMB"] as? Double)
        #expect(peak <= 160 && peak > 50, "peak \(peak) MB")
        #expect(result.stderr.contains("160 MB from flag"))
    }

    @Test("The environment sets the limit; too small a limit is refused with the smallest that works")
    func memoryLimitFromEnvironment() throws {
        let (dir, file) = try Self.staged("speech/short.wav")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try BinaryRunner.run([file.path], environment: ["PYHEARINGAI_MEMORY_LIMIT": "80"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                "memory limit 80 MB (environment (PYHEARINGAI_MEMORY_LIMIT)) is too small for one worker; the smallest that works is"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["short.wav"])
    }

    @Test("Checkpoints are removed after a run; cache clean empties the cache")
    func cache() throws {
        let (dir, file) = try Self.staged("speech/short.wav")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = dir.appendingPathComponent("cache")
        let run = try BinaryRunner.run([file.path, "--cache-dir", cache.path])
        #expect(run.status == 0, "\(run.stderr)")
        let chunks = cache.appendingPathComponent("chunks")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: chunks.path)) ?? []).isEmpty)
        // Leave a checkpoint as an interrupted run would, then clean.
        try FileManager.default.createDirectory(at: chunks.appendingPathComponent("abc"), withIntermediateDirectories: true)
        try Data(repeating: 1, count: 4096).write(to: chunks.appendingPathComponent("abc/chunk-000000.json"))
        let clean = try BinaryRunner.run(["cache", "clean", "--cache-dir", cache.path])
        #expect(clean.status == 0)
        #expect(clean.stdout.contains("Removed 4 KiB"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).isEmpty)
    }

    @Test("Invalid options exit non-zero with a message")
    func invalidOptions() throws {
        let file = TestPaths.fixture("speech/short.wav")
        let overlap = try BinaryRunner.run([file, "--chunk-size", "10", "--overlap", "5", "-o", "/tmp/never.txt"])
        #expect(overlap.status == 1)
        #expect(overlap.stderr.contains("--overlap"))
        let format = try BinaryRunner.run([file, "-f", "docx"])
        #expect(format.status == 1)
        #expect(format.stderr.contains("unknown format 'docx'"))
        // A vocabulary that cannot be read or has a bad line: one line naming it, before any audio.
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let terms = dir.appendingPathComponent("terms.txt")
        try "Kubernetes\nFoo | Q AA\n".write(to: terms, atomically: true, encoding: .utf8)
        let vocabulary = try BinaryRunner.run([file, "--vocabulary", terms.path, "-o", dir.appendingPathComponent("out.txt").path])
        #expect(vocabulary.status == 1)
        #expect(vocabulary.stderr.contains(terms.path) && vocabulary.stderr.contains("vocabulary line 2"), "\(vocabulary.stderr)")
        #expect(vocabulary.stderr.split(separator: "\n").count == 1, "\(vocabulary.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out.txt").path))
    }

    @Test("--vocabulary: the names PocketSphinx lacked are in the transcript")
    func vocabulary() throws {
        let (dir, file) = try Self.staged("vocab/jargon-slt.wav")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try BinaryRunner.run(
            [file.path, "--no-diarization", "--vocabulary", TestPaths.fixture("vocab/jargon.vocabulary"), "-f", "txt,json"])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOf: dir.appendingPathComponent("jargon-slt.txt"), encoding: .utf8).lowercased()
        for term in ["kubernetes", "terraform", "ansible", "tailscale", "zorblatt"] {
            #expect(text.contains(term), "\(term) in \(text)")
        }
        let json = try String(contentsOf: dir.appendingPathComponent("jargon-slt.json"), encoding: .utf8)
        #expect(json.contains("vocabulary=8 terms"), "the model line says a vocabulary was used")
    }
}

@Suite("hearingai transcribe --list-jobs, --resume, --force", .timeLimit(.minutes(10)))
struct ResumeCommandTests {
    /// Runs a transcription with small chunks and kills it (SIGKILL) once `chunks` are
    /// checkpointed in `cache`.
    static func interruptedRun(_ file: URL, cache: String, chunks wanted: Int = 4) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BinaryRunner.binary)
        process.arguments = [file.path, "--chunk-size", "5", "--max-workers", "1", "--cache-dir", cache, "-f", "txt"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while checkpointed(cache) < wanted, Date() < deadline, process.isRunning { usleep(50_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    static func checkpointed(_ cache: String) -> Int {
        let chunks = URL(fileURLWithPath: cache).appendingPathComponent("chunks")
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: chunks.path)) ?? []
        return runs.reduce(0) { total, run in
            total
                + ((try? FileManager.default.contentsOfDirectory(atPath: chunks.appendingPathComponent(run).path)) ?? [])
                .filter { $0.hasPrefix("chunk-") }.count
        }
    }

    @Test("An interrupted run is listed, resumes from its checkpoints, and --force starts over")
    func resume() throws {
        let (dir, file) = try TranscribeCommandTests.staged("speech/long.wav")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = dir.appendingPathComponent("cache").path

        try Self.interruptedRun(file, cache: cache)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("long.txt").path))
        let list = try BinaryRunner.run(["--list-jobs", "--cache-dir", cache])
        #expect(list.status == 0)
        let row = try #require(list.stdout.split(separator: "\n").first { $0.hasSuffix(file.path) })
        let fields = row.split(separator: "\t")
        let id = String(fields[0])
        let done = try #require(Int(fields[1]))
        #expect(done >= 4)

        let resumed = try BinaryRunner.run(["--resume", id, "--cache-dir", cache, "--show-chunks"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let fromCheckpoints = resumed.stderr.split(separator: "\n").filter { $0.contains("(checkpoint)") }.count
        #expect(fromCheckpoints >= done, "\(resumed.stderr)")
        let text = try String(contentsOf: dir.appendingPathComponent("long.txt"), encoding: .utf8)
        #expect(text.split(separator: " ").count > 400)
        // A finished run leaves nothing to resume.
        #expect(!(try BinaryRunner.run(["--list-jobs", "--cache-dir", cache]).stdout.contains(file.path)))

        // Interrupted again, then --force: the checkpoints are there but none is used.
        try Self.interruptedRun(file, cache: cache)
        #expect(Self.checkpointed(cache) >= 4)
        let forced = try BinaryRunner.run([
            file.path, "--chunk-size", "5", "--max-workers", "1", "--cache-dir", cache, "--show-chunks", "--force", "-f", "txt",
        ])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(!forced.stderr.contains("(checkpoint)"))
        #expect(forced.stderr.split(separator: "\n").filter { $0.hasPrefix("chunk") }.count >= 30)
    }
}
