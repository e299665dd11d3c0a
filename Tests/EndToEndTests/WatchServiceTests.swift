import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `hearingai watch` end to end: the real binary on real directories, inotify, SQLite and files.
///
/// Each test starts its own service on fresh temporary directories (see ``ServiceProcess``)
/// and kills it in every path. Settle times are short (0.3 s) and audio is short except where
/// the case needs a long file (kill -9 and SIGTERM mid-file).
@Suite("hearingai watch service", .serialized, .timeLimit(.minutes(10)))
struct WatchServiceTests {
    static let short = TestPaths.fixture("speech/short.wav")
    static func shortData() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: short)) }

    /// `short.wav` with `tag` appended after the data chunk: distinct content (another SHA-256)
    /// that decodes to the same audio.
    static func shortVariant(_ tag: String) throws -> Data { try shortData() + Data("HEARINGAI-TEST-\(tag)".utf8) }

    /// Sleeps past the settle time, so that a second job for the same drop would have shown up.
    static func quietPeriod(_ seconds: Double = 1.0) { Thread.sleep(forTimeInterval: seconds) }

    static func lineCount(_ text: String) -> Int { text.split(separator: "\n").count }

    /// `chunk.index` values of "Chunk done" lines in `lines`.
    static func chunkIndices(_ lines: [Substring]) -> Set<Int> {
        Set(
            lines.compactMap { line in
                guard let range = line.range(of: "chunk.index=") else { return nil }
                return Int(line[range.upperBound...].prefix(while: \.isNumber))
            })
    }

    // MARK: - 1, 2: the two ways a file arrives

    @Test("A file copied in with cp: one set of outputs, the source in processed/, the inbox left empty")
    func copiedIn() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        try service.start()
        #expect(service.stdout().contains("Drop audio files into \(service.inbox.path)"))
        #expect(service.stdout().contains("Transcripts appear in \(service.outbox.path)"))

        try service.cp(Self.short, as: "short.wav")
        try service.waitUntil("short.wav in processed/") { ServiceProcess.names(service.processed) == ["short.wav"] }
        Self.quietPeriod()

        #expect(ServiceProcess.names(service.outbox) == ["short.json", "short.txt"])
        let text = try String(contentsOf: service.outbox.appendingPathComponent("short.txt"), encoding: .utf8)
        #expect(text == Reference.short)
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: service.outbox.appendingPathComponent("short.json"))) as? [String: Any]
        #expect((json?["segments"] as? [Any])?.isEmpty == false)
        #expect(try Data(contentsOf: service.processed.appendingPathComponent("short.wav")) == Self.shortData())
        #expect(ServiceProcess.names(service.inbox) == [".hearingai-work"])
        #expect(ServiceProcess.names(service.work) == [])
        #expect(ServiceProcess.names(service.failed) == [])
        #expect(service.lines(containing: "File queued").count == 1)
        #expect(service.lines(containing: "[HearingIngest] Transcription started").count == 1)
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 1, "failed": 0])
    }

    @Test("A file written elsewhere and renamed in: one set of outputs, the source in processed/")
    func renamedIn() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        try service.start()

        try service.dropByRename(Self.shortData(), name: "moved.wav")
        try service.waitUntil("moved.wav in processed/") { ServiceProcess.names(service.processed) == ["moved.wav"] }
        Self.quietPeriod()

        #expect(ServiceProcess.names(service.outbox) == ["moved.json", "moved.txt"])
        #expect(try String(contentsOf: service.outbox.appendingPathComponent("moved.txt"), encoding: .utf8) == Reference.short)
        #expect(ServiceProcess.names(service.inbox) == [".hearingai-work"])
        #expect(ServiceProcess.names(service.work) == [])
        #expect(ServiceProcess.names(service.stage) == [])
        #expect(service.lines(containing: "File queued").count == 1)
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 1, "failed": 0])

        // SIGINT (Ctrl-C) stops it as gracefully as SIGTERM.
        let stop = try service.terminate(signal: SIGINT, timeout: 20)
        #expect(stop.status == 0 && stop.reason == .exit)
        #expect(service.log().contains("[HearingIngest] Stopped"))
    }

    // MARK: - 3, 4: files still being written

    @Test("A file written slowly, closed and reopened between pieces, is taken only when complete")
    func slowWriter() throws {
        let service = try ServiceProcess(settleSeconds: 1)
        defer { service.cleanup() }
        try service.start()

        let data = try Self.shortData()
        // 30%, then 15% pieces, each in its own open/close, with pauses shorter than the settle time.
        var cuts = [0, data.count * 30 / 100]
        while cuts.last! < data.count { cuts.append(min(data.count, cuts.last! + data.count * 15 / 100)) }
        for (index, (from, to)) in zip(cuts, cuts.dropFirst()).enumerated() {
            try ServiceProcess.writeInPlace(data.subdata(in: from..<to), to: service.inbox, name: Array("slow.wav".utf8), append: index > 0)
            Thread.sleep(forTimeInterval: [0.2, 0.4, 0.3, 0.4, 0.2, 0.3][index % 6])
            // Never taken while incomplete.
            #expect(service.lines(containing: "File queued").isEmpty, "taken after \(to) of \(data.count) bytes")
        }
        try service.waitUntil("slow.wav in processed/") { ServiceProcess.names(service.processed) == ["slow.wav"] }
        Self.quietPeriod(1.5)

        #expect(try Data(contentsOf: service.processed.appendingPathComponent("slow.wav")) == data)
        let queued = service.lines(containing: "File queued")
        #expect(queued.count == 1)
        #expect(queued.first?.contains("file.size=\(data.count)") == true)
        #expect(try service.job(1)["size"] == "\(data.count)")
        #expect(ServiceProcess.names(service.outbox) == ["slow.json", "slow.txt"])
        #expect(try String(contentsOf: service.outbox.appendingPathComponent("slow.txt"), encoding: .utf8) == Reference.short)
        #expect(ServiceProcess.names(service.failed) == [])
        #expect(ServiceProcess.names(service.inbox) == [".hearingai-work"])
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 1, "failed": 0])
    }

    @Test("A file written as x.wav.part (or any temporary or hidden name) is never taken; renamed to x.wav it is")
    func temporaryNames() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        try service.start()

        let data = try Self.shortData()
        let ignored = [
            "x.wav.part", "y.wav.tmp", "y.wav.crdownload", "y.wav.filepart", "y.wav~", "y.wav.partial", "y.wav.download",
            "Y.WAV.PART", ".hidden.wav",
        ]
        for name in ignored { try service.dropInPlace(data, name: name) }
        // Well past the settle time, and through a rescan's worth of ticks.
        Self.quietPeriod(2)
        #expect(service.lines(containing: "File queued").isEmpty)
        #expect(Set(ServiceProcess.names(service.inbox)) == Set(ignored + [".hearingai-work"]))

        try ServiceProcess.rename(from: service.inbox, Array("x.wav.part".utf8), to: service.inbox, Array("x.wav".utf8))
        try service.waitUntil("x.wav in processed/") { ServiceProcess.names(service.processed) == ["x.wav"] }
        Self.quietPeriod()

        let queued = service.lines(containing: "File queued")
        #expect(queued.count == 1)
        #expect(queued.first?.contains("file.name=x.wav ") == true)
        let jobs = try service.jobsList()
        #expect(jobs.map { $0["FILE"] } == ["x.wav"])
        #expect(ServiceProcess.names(service.outbox) == ["x.json", "x.txt"])
        #expect(Set(ServiceProcess.names(service.inbox)) == Set(ignored.filter { $0 != "x.wav.part" } + [".hearingai-work"]))
        #expect(ServiceProcess.names(service.failed) == [])
    }

    // MARK: - 5: a burst

    @Test("A burst of 500 files: 500 jobs done, 500 distinct sets of outputs, none lost, none doubled")
    func burst() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        try service.start()

        // Identical content: the first is transcribed, the rest reuse its stored result, which
        // keeps the test quick while intake, queue and outputs see 500 files.
        let data = try Self.shortData()
        let names = (1...500).map { String(format: "burst-%03d", $0) }
        for name in names { try service.dropInPlace(data, name: name + ".wav") }

        try service.waitUntil("500 sources in processed/", timeout: 240) { ServiceProcess.rawNames(service.processed).count >= 500 }
        Self.quietPeriod()

        #expect(Set(ServiceProcess.names(service.processed)) == Set(names.map { $0 + ".wav" }))
        #expect(Set(ServiceProcess.names(service.outbox)) == Set(names.flatMap { [$0 + ".txt", $0 + ".json"] }))
        #expect(ServiceProcess.rawNames(service.outbox).count == 1000)
        #expect(ServiceProcess.names(service.inbox) == [".hearingai-work"])
        #expect(ServiceProcess.names(service.work) == [])
        #expect(ServiceProcess.names(service.failed) == [])
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 500, "failed": 0])
        let queued = service.lines(containing: "File queued")
        #expect(queued.count == 500)
        let queuedNames = queued.compactMap { line in
            line.range(of: "file.name=").map { String(line[$0.upperBound...].prefix { $0 != " " }) }
        }
        #expect(Set(queuedNames) == Set(names.map { $0 + ".wav" }), "each name queued once")
        #expect(service.lines(containing: "Transcript written").count == 500)
        #expect(service.lines(containing: "Same content transcribed before").count == 499)
        // Every transcript is the one transcript.
        for name in names.prefix(20) + names.suffix(20) {
            #expect(try String(contentsOf: service.outbox.appendingPathComponent(name + ".txt"), encoding: .utf8) == Reference.short)
        }
    }

    // MARK: - 6: hostile entries

    @Test("Hostile entries go to failed/ unread with a reason; the service keeps working")
    func hostileEntries() throws {
        // A short empty-file bound, so that the empty file is refused within the test's wait.
        let service = try ServiceProcess(environment: ["HEARINGAI_MAX_FILE_MB": "1", "HEARINGAI_EMPTY_FILE_SECONDS": "1"])
        defer { service.cleanup() }
        try service.start()

        let outside = service.root.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        let data = try Self.shortData()
        try data.write(to: outside.appendingPathComponent("real.wav"))
        try data.write(to: outside.appendingPathComponent("original.wav"))

        // A symlink to real audio outside the inbox.
        #expect(symlink(outside.appendingPathComponent("real.wav").path, service.inbox.appendingPathComponent("link.wav").path) == 0)
        // A FIFO nobody writes to: opening it for reading without O_NONBLOCK would hang.
        #expect(mkfifo(service.inbox.appendingPathComponent("pipe.wav").path, 0o644) == 0)
        // A directory with an audio name.
        try FileManager.default.createDirectory(at: service.inbox.appendingPathComponent("folder.wav"), withIntermediateDirectories: false)
        // A second name for a file outside: link count 2.
        #expect(link(outside.appendingPathComponent("original.wav").path, service.inbox.appendingPathComponent("hard.wav").path) == 0)
        // An empty file.
        try service.dropInPlace(Data(), name: "empty.wav")
        // Over the 1 MB cap (HEARINGAI_MAX_FILE_MB=1): 1.9 MB of real audio.
        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/conversation.wav"))), name: "big.wav")
        // A listening UNIX socket.
        let socketFD = try Self.bindSocket(at: service.inbox.appendingPathComponent("sock.wav").path)
        defer { close(socketFD) }

        let expected: [(String, String)] = [
            ("link.wav", "symbolic link"), ("pipe.wav", "FIFO"), ("folder.wav", "directory"), ("hard.wav", "hard-linked"),
            ("empty.wav", "empty"), ("big.wav", "size cap"), ("sock.wav", "socket"),
        ]
        try service.waitUntil("every hostile entry and its error file in failed/", timeout: 30) {
            let present = Set(ServiceProcess.names(service.failed))
            return expected.allSatisfy { present.contains($0.0) && present.contains($0.0 + ".error.json") }
        }
        for (name, keyword) in expected {
            let error = try service.errorFile(for: name)
            let reason = error["reason"] as? String ?? ""
            #expect(reason.localizedCaseInsensitiveContains(keyword), "\(name): reason \(reason)")
            #expect(error["file"] as? String == name)
            #expect(error["attempts"] as? Int == 0)
            #expect((error["time"] as? String).map { ISO8601DateFormatter().date(from: $0) != nil } == true, "\(name): time \(error)")
        }
        #expect(service.lines(containing: "Inbox entry refused").count == expected.count)
        #expect(service.lines(containing: "File queued").isEmpty)

        // What each entry is, it still is: moved, not read, not followed.
        let link = ServiceProcess.lstatus(service.failed, "link.wav")
        #expect(link.map { $0.st_mode & S_IFMT } == S_IFLNK)
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: service.failed.appendingPathComponent("link.wav").path)
                == outside.appendingPathComponent("real.wav").path)
        #expect(try Data(contentsOf: outside.appendingPathComponent("real.wav")) == data, "symlink target untouched")
        #expect(ServiceProcess.lstatus(service.failed, "pipe.wav").map { $0.st_mode & S_IFMT } == S_IFIFO)
        #expect(ServiceProcess.lstatus(service.failed, "folder.wav").map { $0.st_mode & S_IFMT } == S_IFDIR)
        #expect(ServiceProcess.lstatus(service.failed, "sock.wav").map { $0.st_mode & S_IFMT } == S_IFSOCK)
        #expect(ServiceProcess.lstatus(outside, "original.wav")?.st_nlink == 2)
        #expect(ServiceProcess.lstatus(service.failed, "big.wav")?.st_size == 1_968_108)
        // The size-cap reason's figures should show the file over the cap.
        let capReason = try service.errorFile(for: "big.wav")["reason"] as? String ?? ""
        let figures = capReason.split(whereSeparator: { !$0.isNumber && $0 != "." }).compactMap { Double($0) }
        #expect(figures.count >= 2 && figures[0] > figures[1], "\(capReason)")
        // Nobody holds the FIFO open for reading: a non-blocking writer finds no reader.
        let writer = open(service.failed.appendingPathComponent("pipe.wav").path, O_WRONLY | O_NONBLOCK)
        let writerErrno = errno
        if writer >= 0 { close(writer) }
        #expect(writer < 0 && writerErrno == ENXIO, "the service holds the FIFO open for reading")

        // Still working: a normal file after all that is transcribed.
        try service.dropByRename(data, name: "normal.wav")
        try service.waitUntil("normal.wav in processed/") { ServiceProcess.names(service.processed) == ["normal.wav"] }
        #expect(ServiceProcess.names(service.outbox) == ["normal.json", "normal.txt"])
        #expect(service.isRunning)
        #expect(ServiceProcess.names(service.inbox) == [".hearingai-work"])
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 1, "failed": 0])
    }

    static func bindSocket(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServiceTestError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw ServiceTestError("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw ServiceTestError("bind \(path): errno \(errno)")
        }
        listen(fd, 1)
        return fd
    }

    // MARK: - 7: names

    @Test("Names with spaces, a newline and invalid UTF-8 come out byte-exact")
    func oddNames() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        try service.start()

        let data = try Self.shortData()
        let stems: [[UInt8]] = [
            Array("my talk  with spaces ".utf8),
            Array("two\nlines".utf8),
            Array("bad".utf8) + [0xFF] + Array(" name \u{E9}".utf8) + [0xC3, 0x28],
        ]
        for stem in stems {
            try ServiceProcess.writeInPlace(data, to: service.inbox, name: stem + Array(".wav".utf8))
        }
        try service.waitUntil("3 sources in processed/") { ServiceProcess.rawNames(service.processed).count >= 3 }
        Self.quietPeriod()

        #expect(ServiceProcess.rawNames(service.processed) == Set(stems.map { $0 + Array(".wav".utf8) }))
        #expect(ServiceProcess.rawNames(service.outbox) == Set(stems.flatMap { [$0 + Array(".txt".utf8), $0 + Array(".json".utf8)] }))
        for stem in stems {
            #expect(ServiceProcess.contents(service.processed, stem + Array(".wav".utf8)) == data)
            let txt = ServiceProcess.contents(service.outbox, stem + Array(".txt".utf8))
            #expect(txt.map { String(decoding: $0, as: UTF8.self) } == Reference.short)
        }
        #expect(ServiceProcess.rawNames(service.inbox) == [Array(".hearingai-work".utf8)])
        #expect(ServiceProcess.names(service.failed) == [])
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 3, "failed": 0])
        // The CLI prints such names escaped, one job a line.
        let jobs = try service.jobsList()
        #expect(jobs.count == 3)
        #expect(jobs.contains { $0["FILE"] == "two\\nlines.wav" })
    }

    // MARK: - 8: restart with queued jobs

    @Test("Queued jobs survive a stop: after a restart all are done, exactly once")
    func restartWithQueuedJobs() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        try service.start()

        let names = ["first", "second", "third"]
        for name in names { try service.dropByRename(Self.shortVariant(name), name: name + ".wav") }
        try service.waitForLog("File queued", count: 3)
        let stop = try service.terminate()
        #expect(stop.status == 0 && stop.reason == .exit)

        let afterStop = try service.status()
        #expect(afterStop["running"] == 0)
        #expect((afterStop["queued"] ?? 0) + (afterStop["done"] ?? 0) == 3)
        #expect((afterStop["queued"] ?? 0) >= 1, "nothing was left queued to test the restart with: \(afterStop)")
        let doneInRun1 = Self.jobIDs(service.lines(containing: "Transcript written", run: 1))

        try service.start()
        try service.waitUntil("3 jobs done") { try service.status()["done"] == 3 }
        Self.quietPeriod()

        #expect(Set(ServiceProcess.names(service.processed)) == Set(names.map { $0 + ".wav" }))
        #expect(Set(ServiceProcess.names(service.outbox)) == Set(names.flatMap { [$0 + ".txt", $0 + ".json"] }))
        #expect(ServiceProcess.names(service.work) == [])
        let written = service.lines(containing: "Transcript written")
        #expect(written.count == 3)
        #expect(Set(Self.jobIDs(written)) == [1, 2, 3])
        // Run 2 did exactly what run 1 left.
        #expect(
            Set(Self.jobIDs(service.lines(containing: "[HearingIngest] Transcription started", run: 2)))
                == Set([1, 2, 3]).subtracting(doneInRun1))
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 3, "failed": 0])
        // A stop is not an attempt.
        #expect(try service.jobsList().map { $0["TRIES"] } == ["1", "1", "1"])
    }

    static func jobIDs(_ lines: [Substring]) -> [Int] {
        lines.compactMap { line in
            guard let range = line.range(of: "job.id=") else { return nil }
            return Int(line[range.upperBound...].prefix(while: \.isNumber))
        }
    }

    // MARK: - 9: kill -9

    @Test("kill -9 mid-file: after a restart the job resumes from its checkpointed chunks and completes once")
    func killNineResumes() throws {
        let service = try ServiceProcess(["--chunk-size", "5", "--verbose"])
        defer { service.cleanup() }
        try service.start()

        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/long.wav"))), name: "long.wav")
        try service.waitForLog("Chunk done", count: 6, timeout: 60)
        try service.kill9()

        let run1Chunks = service.lines(containing: "Chunk done", run: 1)
        let run1Indices = Self.chunkIndices(run1Chunks)
        #expect(run1Chunks.count >= 6)
        #expect(service.lines(containing: "Chunk done", "chunk.checkpoint=true", run: 1).isEmpty)
        let killed = try service.job(1)
        #expect(killed["state"] == "running")
        #expect(killed["lease"] != nil)
        let progress = killed["progress"] ?? ""
        let done = progress.range(of: #"chunks (\d+)/(\d+)"#, options: .regularExpression).map { String(progress[$0]) } ?? ""
        let counts = done.dropFirst("chunks ".count).split(separator: "/").compactMap { Int($0) }
        #expect(counts.count == 2 && counts[0] >= run1Chunks.count && counts[0] < counts[1], "progress after kill -9: \(progress)")

        try service.start()
        try service.waitForLog("Transcript written", timeout: 300)
        Self.quietPeriod()

        let run2 = service.log(run: 2)
        #expect(run2.contains("Requeued a job its dead owner left running"))
        let resumed = Self.chunkIndices(service.lines(containing: "Chunk done", "chunk.checkpoint=true", run: 2))
        #expect(run1Indices.isSubset(of: resumed), "checkpointed in run 1: \(run1Indices.sorted()), reused in run 2: \(resumed.sorted())")
        let decodedAgain = Self.chunkIndices(service.lines(containing: "Chunk done", "chunk.checkpoint=false", run: 2))
        #expect(decodedAgain.isDisjoint(with: run1Indices))
        // Every chunk exactly once in run 2: each index either reused or decoded, 0..<total.
        let run2Chunks = service.lines(containing: "Chunk done", run: 2)
        let all = resumed.union(decodedAgain)
        #expect(run2Chunks.count == all.count, "a chunk reported twice")
        #expect(all == Set(0..<all.count), "chunks \(all.sorted())")

        #expect(ServiceProcess.names(service.outbox) == ["long.json", "long.txt"])
        #expect(ServiceProcess.names(service.processed) == ["long.wav"])
        #expect(ServiceProcess.names(service.work) == [])
        #expect(ServiceProcess.names(service.failed) == [])
        let job = try service.job(1)
        #expect(job["state"] == "done")
        #expect(job["attempts"] == "1", "the killed attempt had finished chunks: not counted towards quarantine")
        #expect(job["progress"]?.hasPrefix("chunks \(all.count)/\(all.count),") == true, "\(job["progress"] ?? "-")")
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 1, "failed": 0])
        // The transcript covers the whole file: the chunks before the kill and after.
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: service.outbox.appendingPathComponent("long.json"))) as? [String: Any]
        let segments = (json?["segments"] as? [[String: Any]]) ?? []
        let starts = segments.compactMap { $0["start"] as? Double }
        let ends = segments.compactMap { $0["end"] as? Double }
        #expect((starts.first ?? 99) < 5)
        #expect((ends.last ?? 0) > 175)
        #expect(zip(ends, starts.dropFirst()).allSatisfy { $1 - $0 < 10 }, "no hole in the transcript")
        let words = try String(contentsOf: service.outbox.appendingPathComponent("long.txt"), encoding: .utf8).split(
            whereSeparator: \.isWhitespace)
        #expect(words.count > 400)
    }

    // MARK: - 10: the same content twice

    @Test("The same audio again, under another name and under the same name: not transcribed again, its own outputs")
    func sameContentTwice() throws {
        let service = try ServiceProcess(["--verbose"])
        defer { service.cleanup() }
        try service.start()

        let data = try Self.shortData()
        try service.dropByRename(data, name: "a.wav")
        try service.waitForLog("Transcript written", count: 1)
        try service.dropByRename(data, name: "b.wav")
        try service.waitForLog("Transcript written", count: 2)
        try service.dropByRename(data, name: "a.wav")
        try service.waitForLog("Transcript written", count: 3)
        Self.quietPeriod()

        let reused = service.lines(containing: "Same content transcribed before")
        #expect(Set(Self.jobIDs(reused)) == [2, 3])
        #expect(Set(Self.jobIDs(service.lines(containing: "Chunk done"))) == [1], "only the first was decoded")
        #expect(ServiceProcess.names(service.outbox) == ["a (1).json", "a (1).txt", "a.json", "a.txt", "b.json", "b.txt"])
        #expect(ServiceProcess.names(service.processed) == ["a (1).wav", "a.wav", "b.wav"])
        for stem in ["a", "b", "a (1)"] {
            #expect(try String(contentsOf: service.outbox.appendingPathComponent(stem + ".txt"), encoding: .utf8) == Reference.short)
        }
        // The JSON names its own source.
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: service.outbox.appendingPathComponent("b.json"))) as? [String: Any]
        #expect((json?["metadata"] as? [String: Any])?["source"] as? String == "b.wav")
        #expect(try service.job(3)["output"] == "a (1)")
        #expect(try service.job(3)["moved to"] == "a (1).wav")
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 3, "failed": 0])
    }

    // MARK: - 11: SIGTERM mid-file

    @Test("SIGTERM mid-file: exit 0 in time, the job back to queued, completed once after a restart")
    func sigtermMidFile() throws {
        let service = try ServiceProcess(["--chunk-size", "5", "--verbose"])
        defer { service.cleanup() }
        try service.start()

        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/conversation.wav"))), name: "talk.wav")
        try service.waitForLog("Chunk done", count: 3, timeout: 60)
        let running = try service.cli(["status"])
        #expect(running.stdout.contains("running: 1"))
        #expect(running.stdout.contains("running: job 1 talk.wav on \(ProcessInfo.processInfo.hostName)  chunks "), "\(running.stdout)")

        let stop = try service.terminate(timeout: 20)
        #expect(stop.status == 0 && stop.reason == .exit)
        #expect(stop.seconds < 20)
        let run1 = service.log(run: 1)
        #expect(run1.contains("Transcription interrupted by shutdown"))
        #expect(run1.contains("Stopped"))
        #expect(!run1.contains("Transcript written"))
        let jobs = try service.jobsList()
        #expect(jobs.count == 1)
        #expect(jobs.first?["STATE"] == "queued")
        #expect(jobs.first?["TRIES"] == "0", "the interrupted attempt is not counted")
        #expect(try service.status() == ["queued": 1, "running": 0, "done": 0, "failed": 0])
        // The source is kept in the work area, not lost and not yet moved.
        #expect(ServiceProcess.names(service.work).count == 1)
        #expect(ServiceProcess.names(service.processed) == [])
        #expect(ServiceProcess.names(service.outbox) == [])
        let run1Indices = Self.chunkIndices(service.lines(containing: "Chunk done", run: 1))

        try service.start()
        try service.waitForLog("Transcript written", timeout: 90)
        Self.quietPeriod()

        let resumed = Self.chunkIndices(service.lines(containing: "Chunk done", "chunk.checkpoint=true", run: 2))
        #expect(run1Indices.isSubset(of: resumed), "checkpointed in run 1: \(run1Indices.sorted()), reused: \(resumed.sorted())")
        #expect(ServiceProcess.names(service.outbox) == ["talk.json", "talk.txt"])
        #expect(ServiceProcess.names(service.processed) == ["talk.wav"])
        #expect(ServiceProcess.names(service.work) == [])
        #expect(try service.job(1)["attempts"] == "1")
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 1, "failed": 0])
        let words = try String(contentsOf: service.outbox.appendingPathComponent("talk.txt"), encoding: .utf8).split(
            whereSeparator: \.isWhitespace)
        #expect(words.count > 120)
    }

    // MARK: - 12: garbage

    @Test("Files that are not audio go to failed/ at once with the reason; the service keeps running")
    func garbage() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        try service.start()

        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("bad/notaudio.wav"))), name: "notaudio.wav")
        var generator = SystemRandomNumberGenerator()
        try service.dropByRename(Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) }), name: "noise.wav")
        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("bad/lying.wav"))), name: "lying.wav")

        let bad = ["lying.wav", "noise.wav", "notaudio.wav"]
        try service.waitUntil("bad files and error files in failed/", timeout: 30) {
            Set(ServiceProcess.names(service.failed)) == Set(bad + bad.map { $0 + ".error.json" })
        }
        for name in bad {
            let error = try service.errorFile(for: name)
            let reason = error["reason"] as? String ?? ""
            #expect(!reason.isEmpty, "\(name): \(error)")
            #expect(!reason.contains(".hearingai-work"), "\(name): the reason names the work copy: \(reason)")
            #expect(error["file"] as? String == name)
            #expect(error["attempts"] as? Int == 1, "failed at once, not retried: \(error)")
            #expect(error["job"] as? Int != nil)
        }
        #expect(service.lines(containing: "will retry").isEmpty)
        #expect(service.lines(containing: "Transcription failed").count == 3)

        try service.dropByRename(Self.shortData(), name: "fine.wav")
        try service.waitUntil("fine.wav in processed/") { ServiceProcess.names(service.processed) == ["fine.wav"] }
        #expect(service.isRunning)
        #expect(ServiceProcess.names(service.outbox) == ["fine.json", "fine.txt"])
        #expect(ServiceProcess.names(service.work) == [])
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 1, "failed": 3])
    }

    // MARK: - 13: an unwritable directory

    @Test("An outbox that cannot be created or written: exit 1 with one line naming it")
    func unwritableOutbox() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        // Permission bits do not stop root, so use a path under a regular file.
        let plain = service.root.appendingPathComponent("plain-file")
        try Data("not a directory".utf8).write(to: plain)
        let outbox = plain.appendingPathComponent("outbox").path
        var arguments = ["watch"] + service.directoryArguments + service.watchArguments
        arguments[arguments.firstIndex(of: "--outbox")! + 1] = outbox
        try service.start(arguments: arguments, waitUntilReady: false)
        let status = try service.waitForExit(timeout: 20)

        #expect(status == 1)
        let lines = service.log().split(separator: "\n")
        #expect(lines.count == 1, "\(service.log())")
        #expect(lines.first?.hasPrefix("hearingai: ") == true)
        #expect(lines.first?.contains(outbox) == true, "\(service.log())")
        #expect(!service.stdout().contains("Drop audio files"))
        #expect(lines.first?.contains("Not a directory") == true, "\(service.log())")

        // A database under a regular file: the same kind of refusal.
        var dbArguments = ["watch"] + service.directoryArguments + service.watchArguments
        let database = plain.appendingPathComponent("queue.sqlite").path
        dbArguments[dbArguments.firstIndex(of: "--database")! + 1] = database
        try service.start(arguments: dbArguments, waitUntilReady: false)
        #expect(try service.waitForExit(timeout: 20) == 1)
        let dbLines = service.log().split(separator: "\n")
        #expect(dbLines.count == 1 && dbLines.first?.hasPrefix("hearingai: \(database)") == true, "\(service.log())")

        // Without root, a directory without write permission is refused the same way.
        if geteuid() != 0 {
            let locked = service.root.appendingPathComponent("locked")
            try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
            #expect(chmod(locked.path, 0o555) == 0)
            defer { _ = chmod(locked.path, 0o755) }
            arguments[arguments.firstIndex(of: "--outbox")! + 1] = locked.path
            try service.start(arguments: arguments, waitUntilReady: false)
            #expect(try service.waitForExit(timeout: 20) == 1)
            let lockedLines = service.log().split(separator: "\n")
            #expect(lockedLines.count == 1 && lockedLines.first?.contains(locked.path) == true, "\(service.log())")
        }
    }

    // MARK: - status, jobs show, jobs retry

    @Test("status, jobs list/show, and jobs retry of a failed job (back from failed/, attempts reset, fails again)")
    func statusAndJobs() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        let early = try service.cli(["status"])
        #expect(early.status == 1 && early.stderr.hasPrefix("hearingai: ") && early.stderr.contains("no queue database yet"))
        try service.start()

        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("bad/notaudio.wav"))), name: "notaudio.wav")
        try service.waitUntil("notaudio.wav failed") { ServiceProcess.names(service.failed).contains("notaudio.wav.error.json") }
        try service.dropByRename(Self.shortData(), name: "good.wav")
        try service.waitUntil("good.wav processed") { ServiceProcess.names(service.processed) == ["good.wav"] }

        let status = try service.cli(["status"])
        #expect(status.status == 0)
        #expect(status.stdout == "queued: 0  running: 0  done: 1  failed: 1\n")

        let list = try service.jobsList()
        #expect(
            list.map { [$0["ID"], $0["STATE"], $0["TRIES"], $0["FILE"]] } == [
                ["2", "done", "1", "good.wav"], ["1", "failed", "1", "notaudio.wav"],
            ])
        #expect(list.allSatisfy { ISO8601DateFormatter().date(from: $0["UPDATED"] ?? "") != nil })
        #expect(list.allSatisfy { $0["NODE"] == ProcessInfo.processInfo.hostName }, "each job names the node that ran it")
        #expect(try service.jobsList(state: "failed").map { $0["ID"] } == ["1"])
        #expect(try service.jobsList(state: "queued").isEmpty)
        let badState = try service.cli(["jobs", "list", "--state", "nonsense"])
        #expect(badState.status == 1 && badState.stderr.contains("unknown state"))

        let failedJob = try service.job(1)
        #expect(failedJob["file"] == "notaudio.wav")
        #expect(failedJob["state"] == "failed")
        #expect(failedJob["attempts"] == "1")
        #expect(failedJob["moved to"] == "notaudio.wav")
        #expect(failedJob["error"].map { !$0.isEmpty } == true)
        #expect(failedJob["sha256"]?.count == 64)
        let doneJob = try service.job(2)
        #expect(doneJob["state"] == "done")
        #expect(doneJob["output"] == "good")
        #expect(doneJob["progress"]?.hasPrefix("chunks 1/1, 100%") == true, "\(doneJob)")
        let missing = try service.cli(["jobs", "show", "99"])
        #expect(missing.status == 1 && missing.stderr == "hearingai: job 99: no such job\n")

        // Retry refuses what is not failed.
        let notFailed = try service.cli(["jobs", "retry", "2"])
        #expect(notFailed.status == 1 && notFailed.stderr.contains("only failed jobs can be retried"))
        let noJob = try service.cli(["jobs", "retry", "99"])
        #expect(noJob.status == 1 && noJob.stderr.contains("no such job"))

        // Retry with the service stopped, to see the state in between.
        try service.terminate()
        let retry = try service.cli(["jobs", "retry", "1"])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(retry.stdout == "job 1 queued again\n")
        #expect(!ServiceProcess.names(service.failed).contains("notaudio.wav"))
        #expect(!ServiceProcess.names(service.failed).contains("notaudio.wav.error.json"))
        let requeued = try service.job(1)
        #expect(requeued["state"] == "queued")
        #expect(requeued["attempts"] == "0")
        #expect(requeued["moved to"] == nil)
        #expect(ServiceProcess.names(service.work).count == 1)

        try service.start()
        try service.waitUntil("notaudio.wav failed again") {
            try ServiceProcess.names(service.failed).contains("notaudio.wav.error.json") && service.job(1)["state"] == "failed"
        }
        Self.quietPeriod()
        #expect(ServiceProcess.names(service.failed) == ["notaudio.wav", "notaudio.wav.error.json"])
        #expect(try service.job(1)["attempts"] == "1")
        #expect(try service.errorFile(for: "notaudio.wav")["attempts"] as? Int == 1)
        #expect(ServiceProcess.names(service.work) == [])
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 1, "failed": 1])
    }

    // MARK: - Beyond the list: crash loops, polling, configuration, one instance per queue

    @Test(
        "A file that keeps killing the service without progress is quarantined once claimed more than max_attempts times; a kill after progress does not count"
    )
    func crashLoopQuarantine() throws {
        // 20-second chunks, one at a time: a chunk takes seconds to decode, so a kill at the
        // start of an attempt surely comes before its first new chunk.
        let service = try ServiceProcess(
            ["--chunk-size", "20", "--max-workers", "1", "--verbose"], environment: ["HEARINGAI_MAX_ATTEMPTS": "1"])
        defer { service.cleanup() }
        try service.start()

        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/conversation.wav"))), name: "crasher.wav")
        try service.waitForLog("Chunk done", count: 1, timeout: 120)
        try service.waitForRecordedChunks(job: 1, atLeast: 1)
        try service.kill9()

        // Run 2: the first kill came after a finished chunk, so it is not counted and the file
        // is tried again. This attempt dies as soon as it starts, before any new chunk.
        try service.start()
        try service.waitForLog("[HearingIngest] Transcription started", timeout: 60)
        try service.kill9()
        #expect(service.log(run: 2).contains("attempt.counted=false"), "\(service.log(run: 2))")
        #expect(service.lines(containing: "Chunk done", "chunk.checkpoint=false", run: 2).isEmpty, "the kill came before a new chunk")

        // Run 3: that attempt is counted, and one is all max_attempts allows.
        try service.start()
        try service.waitUntil("crasher.wav quarantined in failed/") {
            ServiceProcess.names(service.failed) == ["crasher.wav", "crasher.wav.error.json"]
        }
        #expect(service.log(run: 3).contains("attempt.counted=true"), "\(service.log(run: 3))")
        let error = try service.errorFile(for: "crasher.wav")
        let reason = error["reason"] as? String ?? ""
        #expect(reason.contains("gave up"), "\(reason)")
        #expect(reason.contains("interrupted"), "the last error is the crash: \(reason)")
        #expect(reason.contains("no new chunk"), "\(reason)")
        #expect(error["attempts"] as? Int == 2)
        #expect(error["job"] as? Int == 1)
        #expect(service.lines(containing: "Chunk done", run: 3).isEmpty, "not decoded again")
        #expect(ServiceProcess.names(service.outbox) == [])
        #expect(ServiceProcess.names(service.work) == [])
        #expect(service.isRunning)
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 0, "failed": 1])
    }

    @Test("--poll-only: files are found by rescans alone")
    func pollOnly() throws {
        let service = try ServiceProcess(["--poll-only", "--rescan-seconds", "0.5"])
        defer { service.cleanup() }
        try service.start()
        try service.dropByRename(Self.shortData(), name: "polled.wav")
        try service.waitUntil("polled.wav in processed/", timeout: 20) { ServiceProcess.names(service.processed) == ["polled.wav"] }
        #expect(ServiceProcess.names(service.outbox) == ["polled.json", "polled.txt"])
    }

    @Test("Configuration: flags over environment over the YAML file; the shipped etc/hearingai.yaml loads")
    func configurationPrecedence() throws {
        let config = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: config) }
        let file = config.appendingPathComponent("hearingai.yaml")
        try Data(
            """
            formats: md
            max_file_mb: 1
            chunk_size: 7
            overlap: 0.5

            """.utf8
        ).write(to: file)
        let service = try ServiceProcess(["--config", file.path], environment: ["HEARINGAI_FORMATS": "srt,json"])
        defer { service.cleanup() }
        try service.start()

        // Environment over file: srt,json, not md. File over default: the 1 MB cap, 7 s chunks.
        try service.dropByRename(Self.shortData(), name: "one.wav")
        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/conversation.wav"))), name: "big.wav")
        try service.waitUntil("one.wav processed, big.wav refused") {
            ServiceProcess.names(service.processed) == ["one.wav"] && ServiceProcess.names(service.failed).contains("big.wav.error.json")
        }
        #expect(ServiceProcess.names(service.outbox) == ["one.json", "one.srt"])
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: service.outbox.appendingPathComponent("one.json"))) as? [String: Any]
        let chunking = (json?["metadata"] as? [String: Any])?["chunking"] as? [String: Any]
        #expect(chunking?["chunkSize"] as? Double == 7, "\(chunking ?? [:])")
        #expect(chunking?["overlap"] as? Double == 0.5, "\(chunking ?? [:])")
        #expect((try service.errorFile(for: "big.wav")["reason"] as? String)?.contains("size cap") == true)
        try service.terminate()

        // Flag over environment.
        service.watchArguments += ["--formats", "vtt"]
        try service.start()
        try service.dropByRename(Self.shortVariant("two"), name: "two.wav")
        try service.waitUntil("two.wav processed") { ServiceProcess.names(service.processed).contains("two.wav") }
        #expect(ServiceProcess.names(service.outbox) == ["one.json", "one.srt", "two.vtt"])
        try service.terminate()

        // A configuration file that is missing or is not YAML: exit 1, one line naming it.
        let missing = config.appendingPathComponent("missing.yaml").path
        try service.start(arguments: ["watch"] + service.directoryArguments + ["--config", missing], waitUntilReady: false)
        #expect(try service.waitForExit(timeout: 20) == 1)
        #expect(service.log() == "hearingai: \(missing): configuration file not found or unreadable\n")
        let malformed = config.appendingPathComponent("malformed.yaml")
        try Data("formats: [\n".utf8).write(to: malformed)
        try service.start(arguments: ["watch"] + service.directoryArguments + ["--config", malformed.path], waitUntilReady: false)
        #expect(try service.waitForExit(timeout: 20) == 1)
        #expect(service.log().hasPrefix("hearingai: \(malformed.path): not valid YAML"), "\(service.log())")
        #expect(Self.lineCount(service.log()) == 1, "\(service.log())")

        // status and jobs find the queue through the environment alone.
        let byEnvironment = try BinaryRunner.run(
            ["status"],
            environment: [
                "HEARINGAI_INBOX": service.inbox.path, "HEARINGAI_OUTBOX": service.outbox.path,
                "HEARINGAI_PROCESSED": service.processed.path,
                "HEARINGAI_FAILED": service.failed.path, "HEARINGAI_DATABASE": service.database.path,
            ])
        #expect(byEnvironment.status == 0, "\(byEnvironment.stderr)")
        #expect(byEnvironment.stdout.hasPrefix("queued: 0  running: 0  done: 2  failed: 0"), "\(byEnvironment.stdout)")

        // The shipped example configuration parses (its directories overridden by flags).
        service.watchArguments = ["--config", TestPaths.packageRoot.appendingPathComponent("etc/hearingai.yaml").path]
        try service.start()
        #expect(try service.terminate().status == 0)
    }

    @Test("A second watch on the same database is refused with one line; the first keeps running")
    func oneInstancePerQueue() throws {
        let first = try ServiceProcess()
        defer { first.cleanup() }
        try first.start()
        let second = try ServiceProcess()
        defer { second.cleanup() }
        try second.start(arguments: ["watch"] + first.directoryArguments, waitUntilReady: false)
        #expect(try second.waitForExit(timeout: 20) == 1)
        let lines = second.log().split(separator: "\n")
        #expect(lines.count == 1 && lines.first?.hasPrefix("hearingai: ") == true, "\(second.log())")
        #expect(second.log().contains("another hearingai watch is using this database"))
        #expect(first.isRunning)
        try first.dropByRename(Self.shortData(), name: "still.wav")
        try first.waitUntil("still.wav processed") { ServiceProcess.names(first.processed) == ["still.wav"] }
    }

    // MARK: - Names and collisions in failed/ and the outbox

    @Test("Names at the 255-byte limit: a complete set of outputs, and an error file beside each failed entry")
    func namesAtTheLengthLimit() throws {
        // One attempt, so that a failure shows at once instead of after two backoffs.
        // A short empty-file bound, so that the empty file is refused within the test's wait.
        let service = try ServiceProcess(environment: ["HEARINGAI_MAX_ATTEMPTS": "1", "HEARINGAI_EMPTY_FILE_SECONDS": "1"])
        defer { service.cleanup() }
        try service.start()

        let good = String(repeating: "g", count: 251) + ".wav"  // 255 bytes: stem + ".json" is 256
        let bad = String(repeating: "b", count: 246) + ".wav"  // 250 bytes: + ".error.json" is 261
        let empty = String(repeating: "e", count: 246) + ".wav"
        try service.dropByRename(Self.shortData(), name: good)
        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("bad/notaudio.wav"))), name: bad)
        try service.dropByRename(Data(), name: empty)
        try service.waitUntil("both jobs finished and the empty file refused") {
            let counts = try service.status()
            return (counts["done"] ?? 0) + (counts["failed"] ?? 0) == 2 && ServiceProcess.names(service.failed).contains(empty)
        }
        Self.quietPeriod()

        // Nothing lost, whatever else happens.
        let kept = Set(ServiceProcess.names(service.processed) + ServiceProcess.names(service.failed))
        #expect(kept.isSuperset(of: [good, bad, empty]))
        #expect(ServiceProcess.names(service.work) == [])
        #expect(ServiceProcess.names(service.inbox) == [".hearingai-work"])

        let counts = try service.status()
        #expect(counts == ["queued": 0, "running": 0, "done": 1, "failed": 1])
        #expect(ServiceProcess.names(service.processed) == [good])
        let outputs = ServiceProcess.names(service.outbox)
        #expect(
            outputs.count == 2 && outputs.contains { $0.hasSuffix(".txt") } && outputs.contains { $0.hasSuffix(".json") },
            "outbox: \(outputs)")
        let errorFiles = ServiceProcess.names(service.failed).filter { $0.hasSuffix(".json") }
        #expect(
            errorFiles.count == 2, "an error file for each of the 2 failed entries; failed/ has \(ServiceProcess.names(service.failed))")
    }

    @Test("An error file never replaces another file in failed/ (a failed source named like an error file)")
    func errorFileDoesNotReplaceAFailedSource() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        try service.start()

        // A file that is not audio, whose name happens to be that of y.wav's error file.
        let notes = Data("notes that are not audio\n".utf8)
        try service.dropByRename(notes, name: "y.wav.error.json")
        try service.waitUntil("y.wav.error.json failed") { try service.status()["failed"] == 1 }
        #expect(try service.job(1)["moved to"] == "y.wav.error.json")
        #expect(ServiceProcess.contents(service.failed, Array("y.wav.error.json".utf8)) == notes)

        // Then y.wav fails too.
        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("bad/notaudio.wav"))), name: "y.wav")
        try service.waitUntil("y.wav failed") { try service.status()["failed"] == 2 }
        Self.quietPeriod(0.5)

        // y.wav's error file exists under some name.
        let errorFiles = ServiceProcess.names(service.failed).compactMap { name -> [String: Any]? in
            guard name.hasSuffix(".json"), let data = ServiceProcess.contents(service.failed, Array(name.utf8)) else { return nil }
            return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        }
        #expect(errorFiles.contains { $0["file"] as? String == "y.wav" && $0["job"] as? Int == 2 })
        #expect(ServiceProcess.contents(service.failed, Array("y.wav.error.json".utf8)) == notes, "job 1's source was replaced")
    }

    // MARK: - Warm decoders between files

    /// `memory.freed_mb` of a log line.
    static func freedMB(_ line: Substring) -> Double? {
        guard let range = line.range(of: "memory.freed_mb=") else { return nil }
        return Double(line[range.upperBound...].prefix { $0 != " " })
    }

    @Test("Decoders stay loaded between files, and are released once the queue has been idle for idle_release_seconds")
    func decodersKeptWarm() throws {
        // One file at a time, so that one decoder serves them all.
        let service = try ServiceProcess(environment: ["HEARINGAI_IDLE_RELEASE_SECONDS": "2", "HEARINGAI_MAX_WORKERS": "1"])
        defer { service.cleanup() }
        try service.start()

        let names = ["warm-1", "warm-2", "warm-3"]
        for name in names { try service.dropByRename(Self.shortVariant(name), name: name + ".wav") }
        try service.waitUntil("3 jobs done") { try service.status()["done"] == 3 }

        // One decoder, loaded for the first file and reused for the others.
        let written = service.lines(containing: "Transcript written")
        #expect(written.count == 3)
        #expect(written.allSatisfy { $0.contains("decoders.created=1") }, "\(written)")
        #expect(written.filter { $0.contains("engine.load_seconds=0.00") }.count == 2, "\(written)")
        #expect(service.lines(containing: "Same content transcribed before").isEmpty)

        // Idle for 2 s: the decoder goes, and the memory with it.
        try service.waitForLog("Queue idle; decoders released", timeout: 20)
        var released = service.lines(containing: "Queue idle; decoders released")
        #expect(released.count == 1)
        #expect(released.first?.contains("decoders=1") == true, "\(released)")
        #expect((released.first.flatMap(Self.freedMB) ?? 0) > 30, "a decoder is about 90 MB: \(released)")
        let idle = released.first?.range(of: "idle.seconds=").flatMap { Double(released[0][$0.upperBound...].prefix { $0 != " " }) }
        #expect((idle ?? 0) >= 2)
        Self.quietPeriod(3)
        #expect(service.lines(containing: "Queue idle; decoders released").count == 1, "released once, not again while nothing is loaded")

        // The next file loads a decoder again, and it is released again after the idle time.
        try service.dropByRename(Self.shortVariant("warm-4"), name: "warm-4.wav")
        try service.waitUntil("4 jobs done") { try service.status()["done"] == 4 }
        #expect(service.lines(containing: "Transcript written", "decoders.created=2").count == 1)
        try service.waitForLog("Queue idle; decoders released", count: 2, timeout: 20)
        released = service.lines(containing: "Queue idle; decoders released")
        #expect(released.count == 2)
        #expect(Set(ServiceProcess.names(service.outbox)) == Set((names + ["warm-4"]).flatMap { [$0 + ".txt", $0 + ".json"] }))

        let stop = try service.terminate()
        #expect(stop.status == 0 && stop.reason == .exit)
    }

    @Test("Two files run at once (max_workers 2), and two names with the same stem get distinct complete sets")
    func filesAtOnce() throws {
        let service = try ServiceProcess(["--max-workers", "2", "--verbose"])
        defer { service.cleanup() }
        try service.start()

        // Distinct content, one stem: `clash.wav` and `clash.WAV` both want `clash.txt`.
        try service.dropByRename(Self.shortVariant("clash-1"), name: "clash.wav")
        try service.dropByRename(Self.shortVariant("clash-2"), name: "clash.WAV")
        try service.dropByRename(Self.shortVariant("other"), name: "other.wav")
        try service.waitUntil("3 jobs done") { try service.status()["done"] == 3 }
        Self.quietPeriod()

        #expect(
            ServiceProcess.names(service.outbox) == [
                "clash (1).json", "clash (1).txt", "clash.json", "clash.txt", "other.json", "other.txt",
            ])
        for stem in ["clash", "clash (1)", "other"] {
            #expect(try String(contentsOf: service.outbox.appendingPathComponent(stem + ".txt"), encoding: .utf8) == Reference.short)
        }
        #expect(Set(ServiceProcess.names(service.processed)) == ["clash.wav", "clash.WAV", "other.wav"])
        // A second file started before the first was written: they ran at once.
        let log = service.log()
        let firstWritten = try #require(log.range(of: "Transcript written"))
        #expect(log[..<firstWritten.lowerBound].components(separatedBy: "Transcription started").count - 1 >= 2, "\(service.logTail())")
        #expect(service.lines(containing: "Transcript written").count == 3)
        #expect(service.lines(containing: "Same content transcribed before").isEmpty)
    }
}
