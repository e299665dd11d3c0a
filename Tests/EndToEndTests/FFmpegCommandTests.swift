import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Video and compressed audio through the real binary and Debian's real ffmpeg.
@Suite("FFmpeg inputs end to end", .serialized, .timeLimit(.minutes(10)))
struct FFmpegCommandTests {
    /// `speech/long.wav` (3 minutes) as AAC in `directory`: long enough that ffmpeg is still
    /// running, blocked on a full pipe, while the first chunks decode.
    static func longM4A(in directory: URL) throws -> URL {
        let file = directory.appendingPathComponent("long.m4a")
        let made = try runProcess(
            "/usr/bin/ffmpeg",
            ["-nostdin", "-loglevel", "error", "-i", TestPaths.fixture("speech/long.wav"), "-c:a", "aac", "-b:a", "48k", file.path])
        #expect(made.status == 0, "\(made.stderr)")
        return file
    }

    /// The pids of the processes whose parent is `parent` and whose command is `name`.
    static func children(of parent: Int32, named name: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { return false }
            let command = stat[stat.index(after: open)..<close]
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return command == name && fields.count > 1 && Int32(fields[1]) == parent
        }
    }

    /// Resident bytes of `pid` and all its descendants now.
    static func treeResidentBytes(_ pid: Int32) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var total = 0
        var pending = [pid]
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
        var parents: [Int32: Int32] = [:]
        for entry in entries {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = Int32(fields[1]) { parents[entry] = parent }
        }
        while let next = pending.popLast() {
            if let statm = try? String(contentsOfFile: "/proc/\(next)/statm", encoding: .utf8) {
                let fields = statm.split(separator: " ")
                if fields.count > 1, let pages = Int(fields[1]) { total += pages * page }
            }
            pending += parents.filter { $0.value == next }.map(\.key)
        }
        return total
    }

    @Test("An M4A and an MP4 video transcribe with WER comparable to the WAV of the same speech")
    func transcribes() throws {
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = ["formats/pcm16.wav", "media/aac.m4a", "media/h264.mp4"].map { TestPaths.fixture($0) }
        let result = try BinaryRunner.run(files + ["-o", dir.path + "/", "-f", "txt,json", "--max-workers", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        let reference = try String(contentsOfFile: TestPaths.fixture("media/source.txt"), encoding: .utf8)
        func wer(_ stem: String) throws -> Double {
            wordErrorRate(
                reference: reference, hypothesis: try String(contentsOf: dir.appendingPathComponent("\(stem).txt"), encoding: .utf8))
        }
        let wav = try wer("pcm16")
        #expect(try wer("aac") <= wav + 0.01)
        #expect(try wer("h264") <= wav + 0.01)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("h264.json"))) as? [String: Any]
        let metadata = try #require(json?["metadata"] as? [String: Any])
        #expect((metadata["inputFormat"] as? String)?.contains("AAC") == true, "\(metadata)")
        #expect(metadata["inputSampleRate"] as? Int == 48_000)
    }

    @Test("A video without audio: one line naming the file, exit 1, no output")
    func noAudio() throws {
        let (dir, file) = try TranscribeCommandTests.staged("media/no-audio.mp4")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try BinaryRunner.run([file.path, "-f", "txt,json"])
        #expect(result.status == 1)
        #expect(result.stderr == "hearingai: \(file.path): no audio stream (the file holds video (h264))\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["no-audio.mp4"])
    }

    @Test("Without ffmpeg, an M4A fails with 'install ffmpeg to read .m4a files' and the WAV beside it still runs")
    func withoutFFmpeg() throws {
        let (dir, m4a) = try TranscribeCommandTests.staged("media/aac.m4a")
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("short.wav")
        try FileManager.default.copyItem(atPath: TestPaths.fixture("speech/short.wav"), toPath: wav.path)
        let result = try BinaryRunner.run([m4a.path, wav.path], environment: ["PATH": dir.path])
        #expect(result.status == 1)
        #expect(result.stderr == "hearingai: \(m4a.path): not a format libsndfile reads; install ffmpeg to read .m4a files\n")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("short.txt").path))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("aac.txt").path))
    }

    @Test("ffmpeg killed mid-file: exit 1 with one line saying so, no output, HearingAI does not crash")
    func killedChild() throws {
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try Self.longM4A(in: dir)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BinaryRunner.binary)
        process.arguments = [file.path, "--chunk-size", "5", "--max-workers", "1", "--cache-dir", dir.appendingPathComponent("cache").path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var killed: Int32?
        let deadline = Date().addingTimeInterval(60)
        while killed == nil, Date() < deadline, process.isRunning {
            if let pid = Self.children(of: process.processIdentifier, named: "ffmpeg").first {
                Thread.sleep(forTimeInterval: 1)
                #expect(kill(pid, SIGKILL) == 0)
                killed = pid
            }
            usleep(20_000)
        }
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(killed != nil, "ffmpeg never ran")
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 1)
        #expect(stderr.hasPrefix("hearingai: \(file.path): ffmpeg was killed by signal 9 (Killed) after "), "\(stderr)")
        #expect(stderr.split(separator: "\n").count == 1, "\(stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("long.txt").path))
    }

    @Test("Peak resident memory of HearingAI plus ffmpeg stays under the limit")
    func memoryUnderLimit() throws {
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let limitMB = 240
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BinaryRunner.binary)
        process.arguments = [
            TestPaths.fixture("media/h264.mp4"), "--memory-limit", "\(limitMB)", "-o", dir.path + "/", "-f", "json", "--max-workers", "2",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var peak = 0
        var sawFFmpeg = false
        while process.isRunning {
            peak = max(peak, Self.treeResidentBytes(process.processIdentifier))
            sawFFmpeg = sawFFmpeg || !Self.children(of: process.processIdentifier, named: "ffmpeg").isEmpty
            usleep(10_000)
        }
        #expect(process.terminationStatus == 0)
        #expect(sawFFmpeg)
        #expect(peak < limitMB * 1_048_576, "process tree peaked at \(peak / 1_048_576) MB")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("h264.json"))) as? [String: Any]
        let memory = try #require((json?["metadata"] as? [String: Any])?["memory"] as? [String: Any])
        #expect((memory["peakRSSMB"] as? Double ?? 0) < Double(limitMB), "\(memory)")
        #expect((memory["ffmpegPeakRSSMB"] as? Double ?? 0) > 10, "\(memory)")
        print("FFmpeg e2e: tree peak \(peak / 1_048_576) MB under \(limitMB) MB; reported \(memory)")
    }

    @Test("An interrupted run on an M4A resumes from its checkpoints")
    func resume() throws {
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try Self.longM4A(in: dir)
        let cache = dir.appendingPathComponent("cache").path
        try ResumeCommandTests.interruptedRun(file, cache: cache)
        let list = try BinaryRunner.run(["--list-jobs", "--cache-dir", cache])
        let row = try #require(list.stdout.split(separator: "\n").first { $0.hasSuffix(file.path) })
        let id = String(row.split(separator: "\t")[0])
        let resumed = try BinaryRunner.run(["--resume", id, "--cache-dir", cache, "--show-chunks"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.split(separator: "\n").filter { $0.contains("(checkpoint)") }.count >= 4, "\(resumed.stderr)")
        let text = try String(contentsOf: dir.appendingPathComponent("long.txt"), encoding: .utf8)
        #expect(text.split(separator: " ").count > 400)
    }

    @Test("watch takes M4A and video; garbage and a silent video fail with FFmpeg's reason; a killed ffmpeg fails its job")
    func watch() throws {
        let service = try ServiceProcess(["--chunk-size", "5", "--max-workers", "1"], environment: ["HEARINGAI_MAX_ATTEMPTS": "1"])
        defer { service.cleanup() }
        try service.start()
        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("media/aac.m4a"))), name: "memo.m4a")
        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("bad/random.bin"))), name: "garbage.m4a")
        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("media/no-audio.mp4"))), name: "screen.mp4")
        // Partial downloads of a video are still ignored.
        try service.dropInPlace(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("media/h264.mp4"))), name: "meeting.mp4.part")
        try service.waitUntil("memo.m4a in processed/, the bad ones in failed/", timeout: 90) {
            ServiceProcess.names(service.processed) == ["memo.m4a"] && ServiceProcess.names(service.failed).count == 4
        }
        #expect(ServiceProcess.names(service.outbox) == ["memo.json", "memo.txt"])
        let garbage = try service.errorFile(for: "garbage.m4a")["reason"] as? String ?? ""
        #expect(garbage.contains("ffprobe cannot read it: Invalid data found when processing input"), "\(garbage)")
        #expect(!garbage.contains(".hearingai-work") && !garbage.contains("file:"), "\(garbage)")
        let screen = try service.errorFile(for: "screen.mp4")["reason"] as? String ?? ""
        #expect(screen == "no audio stream (the file holds video (h264))")
        #expect(FileManager.default.fileExists(atPath: service.inbox.appendingPathComponent("meeting.mp4.part").path))

        // A long file, its ffmpeg killed from outside while it runs.
        let long = try Self.longM4A(in: service.root)
        try service.dropByRename(Data(contentsOf: long), name: "long.m4a")
        let servicePID = try #require(service.pid)
        var killed = false
        let deadline = Date().addingTimeInterval(60)
        while !killed, Date() < deadline {
            if let pid = Self.children(of: servicePID, named: "ffmpeg").first {
                Thread.sleep(forTimeInterval: 1)
                killed = kill(pid, SIGKILL) == 0
            }
            usleep(20_000)
        }
        #expect(killed)
        try service.waitUntil("long.m4a in failed/", timeout: 60) {
            ServiceProcess.names(service.failed).contains("long.m4a")
        }
        let reason = try service.errorFile(for: "long.m4a")["reason"] as? String ?? ""
        #expect(reason.hasPrefix("ffmpeg was killed by signal 9 (Killed) after "), "\(reason)")
        #expect(service.isRunning)
        #expect(Self.children(of: servicePID, named: "ffmpeg").isEmpty)
    }
}
