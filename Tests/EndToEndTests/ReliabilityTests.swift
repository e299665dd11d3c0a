import Foundation
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

    @Test("A full outbox: no half output set, the file waits queued (not failed) and completes once space returns",
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
}
