import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `hearingai watch` in a hostile environment (issue 12): a full disk, directories on other
/// filesystems, a corrupt stored result, an empty file that grows. The real binary on real
/// directories; the filesystem cases mount a small tmpfs and so run only as root.
@Suite("hearingai watch under failures", .serialized, .timeLimit(.minutes(10)))
struct ReliabilityTests {
    static func shortData() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: WatchServiceTests.short)) }

    // MARK: - A full outbox

    @Test(
        "A full outbox: no half output set, the file waits queued (not failed) and completes once space returns",
        .enabled(if: Tmpfs.canMount, "mounting a tmpfs needs root; skipped when not root"))
    func diskFullOutbox() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        let outbox = try Tmpfs(at: service.outbox, bytes: 256 * 1024)
        defer { outbox.unmount() }
        // Room for one page: the txt fits, the json does not.
        try outbox.fill("filler", leaving: 4096)
        try service.start()

        try service.dropByRename(try Self.shortData(), name: "F.wav")
        try service.waitForLog("Waiting for disk space", timeout: 60)
        #expect(ServiceProcess.names(service.outbox) == ["filler"], "no output of a set that did not fit, no temporary left")
        #expect(ServiceProcess.names(service.failed) == [])
        let status = try service.cli(["status"]).stdout
        #expect(status.contains("waiting: disk full on \(service.outbox.path)"), "\(status)")
        #expect(try service.status()["queued"] == 1)
        #expect(service.lines(containing: "Waiting for disk space", "directory=\(service.outbox.path)").count >= 1)

        // Space returns: the job goes on by itself.
        try FileManager.default.removeItem(at: service.outbox.appendingPathComponent("filler"))
        try service.waitUntil("F.wav in processed/", timeout: 60) { ServiceProcess.names(service.processed) == ["F.wav"] }
        #expect(ServiceProcess.names(service.outbox) == ["F.json", "F.txt"])
        #expect(try String(contentsOf: service.outbox.appendingPathComponent("F.txt"), encoding: .utf8) == Reference.short)
        #expect(ServiceProcess.names(service.failed) == [])
        let job = try service.job(1)
        #expect(job["state"] == "done")
        #expect(job["attempts"] == "1", "waits for space are not counted as attempts")
        #expect(job["waiting"] == nil)
        #expect(!(try service.cli(["status"]).stdout.contains("waiting:")))
    }

    // MARK: - processed/ and failed/ on other filesystems

    @Test(
        "processed/ and failed/ on other filesystems: sources are copied there, and a move a crash cut short is finished at restart",
        .enabled(if: Tmpfs.canMount, "mounting a tmpfs needs root; skipped when not root"))
    func otherFilesystems() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        let processed = try Tmpfs(at: service.processed, bytes: 8 << 20)
        defer { processed.unmount() }
        let failed = try Tmpfs(at: service.failed, bytes: 8 << 20)
        defer { failed.unmount() }
        try service.start()
        #expect(
            service.lines(containing: "Directory filesystems", "filesystems=inbox+outbox, processed, failed").count == 1, "\(service.log())"
        )

        let audio = try Self.shortData()
        // One after the other, so that F.wav is job 1 and G.wav job 2.
        try service.dropByRename(audio, name: "F.wav")
        try service.waitForLog("File queued", count: 1)
        try service.dropByRename(Data("not audio at all".utf8), name: "G.wav")
        try service.waitUntil("F.wav in processed/, G.wav in failed/, both recorded") {
            ServiceProcess.names(service.processed) == ["F.wav"] && ServiceProcess.names(service.failed) == ["G.wav", "G.wav.error.json"]
                && ServiceProcess.names(service.work).isEmpty
        }
        #expect(ServiceProcess.names(service.outbox) == ["F.json", "F.txt"])
        #expect(ServiceProcess.contents(service.processed, Array("F.wav".utf8)) == audio)
        #expect(ServiceProcess.names(service.work) == [])
        #expect(try service.job(1)["moved to"] == "F.wav")
        #expect(try service.job(2)["moved to"] == "G.wav")
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 1, "failed": 1])
        try service.terminate()

        // A crash after the copy's original was unlinked, before the rename into place: the
        // complete copy is under its staging name, the job is done and not yet moved.
        let workDir = try Self.sql(service, "SELECT workDir FROM job WHERE id = 1")
        let staging = ".hearingai-move-" + workDir
        let jobDirectory = service.work.appendingPathComponent(workDir)
        try FileManager.default.createDirectory(at: jobDirectory, withIntermediateDirectories: true)
        try Data("F.wav".utf8).write(to: jobDirectory.appendingPathComponent("name"))
        try FileManager.default.moveItem(
            at: service.processed.appendingPathComponent("F.wav"), to: service.processed.appendingPathComponent(staging))
        _ = try Self.sql(service, "UPDATE job SET finalName = NULL WHERE id = 1")
        try service.start()
        try service.waitUntil("the staged copy renamed into place") { ServiceProcess.names(service.processed) == ["F.wav"] }
        #expect(ServiceProcess.contents(service.processed, Array("F.wav".utf8)) == audio)
        #expect(ServiceProcess.names(service.work) == [])
        #expect(try service.job(1)["moved to"] == "F.wav")
        try service.terminate()

        // A crash halfway through the copy: the source is still in the work area and a half
        // copy is under the staging name; the move starts again and replaces it.
        try FileManager.default.createDirectory(at: jobDirectory, withIntermediateDirectories: true)
        try Data("F.wav".utf8).write(to: jobDirectory.appendingPathComponent("name"))
        try FileManager.default.moveItem(
            at: service.processed.appendingPathComponent("F.wav"), to: jobDirectory.appendingPathComponent("source"))
        try audio.prefix(1000).write(to: service.processed.appendingPathComponent(staging))
        _ = try Self.sql(service, "UPDATE job SET finalName = NULL WHERE id = 1")
        try service.start()
        try service.waitUntil("the source copied again and in place") { ServiceProcess.names(service.processed) == ["F.wav"] }
        #expect(ServiceProcess.contents(service.processed, Array("F.wav".utf8)) == audio)
        #expect(ServiceProcess.names(service.work) == [])
        #expect(try service.job(1)["moved to"] == "F.wav")
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 1, "failed": 1])
    }

    // MARK: - The inbox deleted, moved or remounted

    @Test("The inbox deleted and made again: the new one is watched and its files taken; missing too long, the service is not ready")
    func inboxDeleted() throws {
        let service = try ServiceProcess(environment: ["WATCHDOG_USEC": "400000", "HEARINGAI_INBOX_MISSING_SECONDS": "2"])
        defer { service.cleanup() }
        try service.start()
        let inboxPath = service.inbox.path
        try service.dropByRename(try Self.shortVariant("A"), name: "A.wav")
        try service.waitUntil("A.wav in processed/", timeout: 60) { ServiceProcess.names(service.processed) == ["A.wav"] }

        // rm -rf inbox, and nothing there for longer than inbox_missing_seconds.
        try FileManager.default.removeItem(at: service.inbox)
        try service.waitForLog("Inbox directory is gone", "inbox.path=\(inboxPath)")
        try service.waitUntil("STATUS= says the service is not ready") {
            service.notifyMessages.contains { $0.hasPrefix("STATUS=not ready: inbox \(inboxPath) missing since ") }
        }
        try service.waitForLog("longer than inbox_missing_seconds", "inbox.path=\(inboxPath)")
        let status = try service.cli(["status"]).stdout
        #expect(status.contains("inbox missing: \(inboxPath) for "), "\(status)")
        #expect(status.contains("(not ready)"), "\(status)")
        // The watchdog is no longer fed (pings were every 0.2 s).
        let pings = service.notifyMessages.filter { $0 == "WATCHDOG=1" }.count
        Thread.sleep(forTimeInterval: 1.5)
        #expect(service.notifyMessages.filter { $0 == "WATCHDOG=1" }.count == pings, "no watchdog pings while not ready")

        // mkdir inbox: watched again, ready again, and a file dropped there is taken.
        try FileManager.default.createDirectory(at: service.inbox, withIntermediateDirectories: false)
        try service.waitForLog("Inbox directory replaced; watching the new one", "inbox.path=\(inboxPath)")
        try service.dropByRename(try Self.shortVariant("B"), name: "B.wav")
        try service.waitUntil("B.wav in processed/", timeout: 60) { ServiceProcess.names(service.processed) == ["A.wav", "B.wav"] }
        try service.waitUntil("watchdog pings again") { service.notifyMessages.filter { $0 == "WATCHDOG=1" }.count > pings + 2 }
        // Once B.wav's job is through, STATUS= is back to what the service is doing.
        try service.waitUntil("STATUS=watching again") {
            service.notifyMessages.last { $0.hasPrefix("STATUS=") }?.hasPrefix("STATUS=watching ") == true
        }
        #expect(!(try service.cli(["status"]).stdout.contains("inbox missing")))

        // rm -rf inbox; mkdir inbox in one breath, as an operator would type it.
        try FileManager.default.removeItem(at: service.inbox)
        try FileManager.default.createDirectory(at: service.inbox, withIntermediateDirectories: false)
        try service.waitForLog("Inbox directory replaced; watching the new one", count: 2)
        try service.dropByRename(try Self.shortVariant("C"), name: "C.wav")
        try service.waitUntil("C.wav in processed/", timeout: 60) {
            ServiceProcess.names(service.processed) == ["A.wav", "B.wav", "C.wav"]
        }
        #expect(ServiceProcess.names(service.outbox) == ["A.json", "A.txt", "B.json", "B.txt", "C.json", "C.txt"])
        #expect(ServiceProcess.names(service.failed) == [])
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 3, "failed": 0])
        #expect(service.lines(containing: "longer than inbox_missing_seconds").count == 1, "said once, for the one long absence")
    }

    @Test("The inbox moved away and made again: running and queued jobs complete, new files are taken, the old directory is left alone")
    func inboxMoved() throws {
        let service = try ServiceProcess(["--chunk-size", "5", "--max-workers", "1", "--verbose"])
        defer { service.cleanup() }
        try service.start()
        let inboxPath = service.inbox.path
        let old = service.root.appendingPathComponent("old")

        // One job running, one queued behind it: both in the work area inside the inbox.
        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/conversation.wav"))), name: "talk.wav")
        try service.waitForLog("Chunk done", count: 1, timeout: 120)
        try service.dropByRename(try Self.shortVariant("queued"), name: "queued.wav")
        try service.waitForLog("File queued", count: 2)

        // mv inbox old; mkdir inbox
        try FileManager.default.moveItem(at: service.inbox, to: old)
        try FileManager.default.createDirectory(at: service.inbox, withIntermediateDirectories: false)
        try service.waitForLog("Inbox directory replaced; watching the new one", "inbox.path=\(inboxPath)")
        #expect(
            service.lines(containing: "Inbox directory replaced", "inbox.old_location=\(old.path)", "jobs.moved=2").count == 1,
            "\(service.log())")
        try service.dropByRename(try Self.shortVariant("new"), name: "new.wav")
        try service.waitUntil("every file in processed/", timeout: 300) {
            ServiceProcess.names(service.processed) == ["new.wav", "queued.wav", "talk.wav"]
        }
        #expect(
            ServiceProcess.names(service.outbox) == ["new.json", "new.txt", "queued.json", "queued.txt", "talk.json", "talk.txt"])
        #expect(ServiceProcess.names(service.failed) == [])
        #expect(ServiceProcess.names(old.appendingPathComponent(".hearingai-work")) == [], "no job left behind in the old work area")
        // The last job's work directory goes just after its source reaches processed/.
        try service.waitUntil("the work area empty") { ServiceProcess.names(service.work) == [] }
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 3, "failed": 0])

        // The old directory is no longer the inbox: a file dropped there stays there.
        try ServiceProcess.writeInPlace(try Self.shortVariant("stray"), to: old, name: Array("stray.wav".utf8))
        Thread.sleep(forTimeInterval: 2)
        #expect(ServiceProcess.names(old) == [".hearingai-work", "stray.wav"])
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 3, "failed": 0])
    }

    @Test(
        "A filesystem mounted over the inbox (no inotify event) is found by the rescan's inode check; queued jobs are copied over",
        .enabled(if: Tmpfs.canMount, "mounting a tmpfs needs root; skipped when not root"))
    func inboxRemounted() throws {
        let service = try ServiceProcess(["--rescan-seconds", "1", "--chunk-size", "5", "--max-workers", "1", "--verbose"])
        defer { service.cleanup() }
        try service.start()
        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/conversation.wav"))), name: "talk.wav")
        try service.waitForLog("Chunk done", count: 1, timeout: 120)
        try service.dropByRename(try Self.shortVariant("queued"), name: "queued.wav")
        try service.waitForLog("File queued", count: 2)

        let mount = try Tmpfs(at: service.inbox, bytes: 64 << 20)
        defer { mount.unmount() }
        try service.waitForLog("Inbox directory replaced; watching the new one", "cause=rescan", timeout: 30)
        #expect(service.lines(containing: "Inbox directory replaced", "jobs.moved=2").count == 1, "\(service.log())")
        // Written under a hidden name on the new filesystem, then renamed.
        try ServiceProcess.writeInPlace(try Self.shortVariant("new"), to: service.inbox, name: Array(".new.wav".utf8))
        try ServiceProcess.rename(from: service.inbox, Array(".new.wav".utf8), to: service.inbox, Array("new.wav".utf8))
        try service.waitUntil("every file in processed/", timeout: 300) {
            ServiceProcess.names(service.processed) == ["new.wav", "queued.wav", "talk.wav"]
        }
        #expect(ServiceProcess.names(service.failed) == [])
        #expect(ServiceProcess.names(service.work) == [])
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 3, "failed": 0])
    }

    // MARK: - A queued source deleted from the work area

    @Test("A queued source deleted from the work area: the job fails at once, with a reason jobs show gives")
    func deletedWorkSource() throws {
        let service = try ServiceProcess(["--chunk-size", "5", "--max-workers", "1", "--verbose"])
        defer { service.cleanup() }
        try service.start()
        try service.dropByRename(Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/conversation.wav"))), name: "talk.wav")
        try service.waitForLog("Chunk done", count: 1, timeout: 120)
        try service.dropByRename(try Self.shortVariant("gone"), name: "gone.wav")
        try service.waitForLog("File queued", count: 2)

        let workDir = try Self.sql(service, "SELECT workDir FROM job WHERE id = 2")
        try FileManager.default.removeItem(at: service.work.appendingPathComponent(workDir))
        // Its turn comes once talk.wav is done: minutes on a loaded machine.
        try service.waitUntil("job 2 failed", timeout: 300) { try service.job(2)["state"] == "failed" }
        let job = try service.job(2)
        let sourcePath = service.work.appendingPathComponent(workDir).appendingPathComponent("source").path
        #expect(job["error"]?.contains("the source was removed from the work area before it was transcribed") == true, "\(job)")
        #expect(job["error"]?.contains(sourcePath) == true, "\(job)")
        #expect(job["attempts"] == "1", "not retried: no retry can bring it back")
        #expect(
            service.lines(containing: "Queued file's source is missing from the work area", "job.id=2", "file.path=\(sourcePath)").count
                == 1)

        try service.waitUntil("talk.wav in processed/", timeout: 300) { ServiceProcess.names(service.processed) == ["talk.wav"] }
        #expect(ServiceProcess.names(service.work) == [])
        #expect(ServiceProcess.names(service.failed) == [])
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 1, "failed": 1])
    }

    // MARK: - Quarantine counts attempts without progress

    @Test("Three kill -9s while a file keeps finishing chunks do not quarantine it; the resumed transcript is a clean run's")
    func killsWithProgress() throws {
        // The default max_attempts (3): four claims, three of them killed.
        let flags = ["--chunk-size", "5", "--max-workers", "1"]
        let service = try ServiceProcess(flags + ["--verbose"])
        defer { service.cleanup() }
        var recorded = 0
        for run in 1...3 {
            try service.start()
            if run == 1 {
                try service.dropByRename(
                    Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("speech/conversation.wav"))), name: "talk.wav")
            }
            // A new chunk decoded (not one taken from the checkpoints) and recorded: progress.
            try service.waitForLog("Chunk done", "chunk.checkpoint=false", timeout: 120)
            try service.waitForRecordedChunks(job: 1, atLeast: recorded + 1)
            recorded = try service.recordedChunks(job: 1) ?? 0
            try service.kill9()
            #expect(try service.job(1)["state"] == "running", "run \(run) was killed mid-file")
        }
        try service.start()
        try service.waitUntil("talk.wav in processed/ or failed/", timeout: 300) {
            !ServiceProcess.names(service.processed).isEmpty || !ServiceProcess.names(service.failed).isEmpty
        }
        #expect(ServiceProcess.names(service.failed) == [], "not quarantined")
        #expect(ServiceProcess.names(service.processed) == ["talk.wav"])
        #expect(service.lines(containing: "Requeued a job its dead owner left running", "attempt.counted=false").count == 3)
        let job = try service.job(1)
        #expect(job["state"] == "done")
        #expect(job["attempts"] == "1", "only the attempt that finished counts")
        let clean = try Reference.transcript("speech/conversation.wav", extra: flags)
        #expect(try String(contentsOf: service.outbox.appendingPathComponent("talk.txt"), encoding: .utf8) == clean)
    }

    /// `short.wav` with `tag` appended after its data: distinct content, the same audio.
    static func shortVariant(_ tag: String) throws -> Data { try WatchServiceTests.shortVariant(tag) }

    /// Runs `statement` on the service's database with the sqlite3 tool; its output, trimmed.
    static func sql(_ service: ServiceProcess, _ statement: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = ["-cmd", ".timeout 10000", service.database.path, statement]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ServiceTestError("sqlite3 \(statement): exit \(process.terminationStatus)") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: - A corrupt stored result

    @Test("Garbage in a stored result: the same audio dropped again is transcribed again, not failed")
    func corruptStoredResult() throws {
        let service = try ServiceProcess()
        defer { service.cleanup() }
        try service.start()
        let audio = try Self.shortData()
        try service.dropByRename(audio, name: "A.wav")
        try service.waitForLog("Transcript written", count: 1)

        #expect(try Self.sql(service, "SELECT count(*) FROM result") == "1")
        _ = try Self.sql(service, "UPDATE result SET transcript = X'7B2267617262616765223A'")
        try service.dropByRename(audio, name: "B.wav")
        try service.waitUntil("B.wav in processed/ or failed/", timeout: 60) {
            ServiceProcess.names(service.processed).contains("B.wav") || !ServiceProcess.names(service.failed).isEmpty
        }
        #expect(ServiceProcess.names(service.failed) == [])
        #expect(try String(contentsOf: service.outbox.appendingPathComponent("B.txt"), encoding: .utf8) == Reference.short)
        #expect(service.lines(containing: "Stored result does not decode").count == 1)
        #expect(service.lines(containing: "will retry").isEmpty)

        // The new result replaced the garbage: a third drop reuses it.
        try service.dropByRename(audio, name: "C.wav")
        try service.waitForLog("Transcript written", count: 3)
        #expect(service.lines(containing: "Same content transcribed before").count == 1)
        #expect(service.lines(containing: "Stored result does not decode").count == 1)
        #expect(try String(contentsOf: service.outbox.appendingPathComponent("C.txt"), encoding: .utf8) == Reference.short)
        #expect(try service.status() == ["queued": 0, "running": 0, "done": 3, "failed": 0])
    }

    // MARK: - An empty file that grows

    @Test(
        "An empty file held open past the settle time and written later is transcribed; one left empty is refused after empty_file_seconds")
    func emptyFileThatGrows() throws {
        let service = try ServiceProcess(environment: ["HEARINGAI_EMPTY_FILE_SECONDS": "4"])
        defer { service.cleanup() }
        try service.start()

        // The writer creates its file, keeps it open and empty well past the settle time
        // (0.3 s), then writes the audio and closes it.
        let path = service.inbox.appendingPathComponent("grows.wav").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        #expect(fd >= 0)
        Thread.sleep(forTimeInterval: 2)
        #expect(ServiceProcess.names(service.failed) == [], "an empty file still open was refused before empty_file_seconds")
        let audio = try Self.shortData()
        let written = audio.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        #expect(written == audio.count)
        close(fd)
        try service.waitUntil("grows.wav in processed/", timeout: 60) { ServiceProcess.names(service.processed) == ["grows.wav"] }
        #expect(ServiceProcess.names(service.failed) == [])
        #expect(try String(contentsOf: service.outbox.appendingPathComponent("grows.txt"), encoding: .utf8) == Reference.short)

        // A file that stays empty is still refused, once the longer bound has passed.
        let started = Date()
        try ServiceProcess.writeInPlace(Data(), to: service.inbox, name: Array("empty.wav".utf8))
        try service.waitUntil("empty.wav in failed/", timeout: 30) {
            ServiceProcess.names(service.failed) == ["empty.wav", "empty.wav.error.json"]
        }
        #expect(Date().timeIntervalSince(started) >= 3.5, "refused before empty_file_seconds")
        #expect(try service.errorFile(for: "empty.wav")["reason"] as? String == "an empty file")
    }

    // MARK: - An entry that cannot be moved

    @Test(
        "An inbox entry that cannot be moved is reported once and backed off, and taken as soon as it can be",
        .enabled(if: Tmpfs.canMount, "chattr +i needs root; skipped when not root"))
    func unmovableEntry() throws {
        // A settle time long enough to make the file immutable before it settles.
        let service = try ServiceProcess(["--rescan-seconds", "0.3"], settleSeconds: 1.5)
        defer { service.cleanup() }
        try service.start()

        // An immutable file: even root cannot rename it (EPERM), every rescan would try.
        try service.dropByRename(try Self.shortData(), name: "stuck.wav")
        try Self.chattr("+i", service.inbox.appendingPathComponent("stuck.wav").path)
        defer { try? Self.chattr("-i", service.inbox.appendingPathComponent("stuck.wav").path) }
        try service.waitForLog("Could not take inbox entry")
        Thread.sleep(forTimeInterval: 4)
        #expect(service.lines(containing: "Could not take inbox entry").count == 1, "reported once, not every rescan")
        #expect(ServiceProcess.names(service.work) == [], "no empty job directory left by a refused move")
        let stuckPath = service.inbox.appendingPathComponent("stuck.wav").path
        let status = try service.cli(["status"]).stdout
        #expect(status.contains("cannot take: \(stuckPath): rename failed: Operation not permitted (since "), "\(status)")

        // Made movable again (its ctime changes): taken at once, not after the back-off.
        try Self.chattr("-i", service.inbox.appendingPathComponent("stuck.wav").path)
        try service.waitUntil("stuck.wav in processed/, its job directory gone", timeout: 60) {
            ServiceProcess.names(service.processed) == ["stuck.wav"] && ServiceProcess.names(service.work).isEmpty
        }
        #expect(ServiceProcess.names(service.failed) == [])
        let after = try service.cli(["status"]).stdout
        #expect(!after.contains("cannot take:"), "\(after)")
    }

    static func chattr(_ flag: String, _ path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
        process.arguments = [flag, path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ServiceTestError("chattr \(flag) \(path): exit \(process.terminationStatus)") }
    }
}
