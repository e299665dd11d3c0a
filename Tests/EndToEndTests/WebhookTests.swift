import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Completion webhooks end to end: the real binary delivering to a real receiver on loopback
/// (scripts/webhook-receiver.py, which checks each signature with Python's `hmac`).
@Suite("Completion webhooks", .serialized, .timeLimit(.minutes(10)))
struct WebhookTests {
    static let short = TestPaths.fixture("speech/short.wav")
    static func notAudio() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("bad/notaudio.wav"))) }

    static func service(_ receiver: WebhookReceiver, environment: [String: String] = [:]) throws -> ServiceProcess {
        try ServiceProcess(["--webhook-url", receiver.url, "--webhook-secret-file", receiver.secretFile], environment: environment)
    }

    /// `hearingai webhooks list` rows (without the header): ID, STATE, TRIES, EVENT, JOB,
    /// EVENT_ID, UPDATED, URL, LAST.
    static func deliveries(_ service: ServiceProcess) throws -> [[String]] {
        let result = try service.cli(["webhooks", "list"])
        guard result.status == 0 else { throw ServiceTestError("webhooks list failed (\(result.status)): \(result.stderr)") }
        let lines = result.stdout.split(separator: "\n")
        guard lines.first == "ID\tSTATE\tTRIES\tEVENT\tJOB\tEVENT_ID\tUPDATED\tURL\tLAST" else {
            throw ServiceTestError("webhooks list header: \(result.stdout)")
        }
        return lines.dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test("job.completed and job.failed reach a real receiver, signed, with the job's facts; the secret is never logged")
    func signedEvents() throws {
        let receiver = try WebhookReceiver()
        let service = try Self.service(receiver)
        defer { service.cleanup() }
        try service.start()
        try service.cp(Self.short, as: "short.wav")
        try service.dropByRename(Self.notAudio(), name: "notaudio.wav")
        try service.waitUntil("two webhooks answered 200") { try receiver.requests().filter { $0.status == 200 }.count >= 2 }
        try service.waitUntil("both deliveries recorded") { try Self.deliveries(service).filter { $0[1] == "delivered" }.count == 2 }
        WatchServiceTests.quietPeriod()

        let requests = try receiver.requests()
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0.signature_ok && $0.signature.hasPrefix("sha256=") })
        #expect(requests.allSatisfy { $0.content_type == "application/json" && $0.path == "/hook" })
        #expect(Set(requests.compactMap(\.event_id)).count == 2)

        let completed = try #require(requests.first { $0.event == "job.completed" })
        let body = completed.json
        #expect(body["event"] as? String == "job.completed")
        #expect(body["event_id"] as? String == completed.event_id)
        #expect(body["source"] as? String == "short.wav")
        #expect(Set(body["outputs"] as? [String] ?? []) == ["short.txt", "short.json"])
        #expect(body["error"] is NSNull)
        let transcript =
            try JSONSerialization.jsonObject(with: Data(contentsOf: service.outbox.appendingPathComponent("short.json"))) as? [String: Any]
        let duration = try #require((transcript?["metadata"] as? [String: Any])?["duration"] as? Double)
        #expect(abs((body["audio_duration_seconds"] as? Double ?? 0) - duration) < 0.01)
        let completedJob = try #require(body["job_id"] as? Int)
        #expect(try service.job(completedJob)["state"] == "done")

        let failed = try #require(requests.first { $0.event == "job.failed" })
        let failure = failed.json
        #expect(failure["source"] as? String == "notaudio.wav")
        #expect((failure["outputs"] as? [String]) == [])
        let reason = try service.errorFile(for: "notaudio.wav")["reason"] as? String
        #expect(reason != nil && failure["error"] as? String == reason)

        let rows = try Self.deliveries(service)
        #expect(rows.count == 2 && rows.allSatisfy { $0[1] == "delivered" && $0[2] == "1" && $0[7] == receiver.url })
        #expect(!service.allLogs.contains(receiver.secret))
        #expect(service.lines(containing: "Webhook delivered").count == 2)
        try service.terminate()
    }

    @Test("Receiver down, then up: the event is retried with backoff and delivered once it answers")
    func receiverDownThenUp() throws {
        let receiver = try WebhookReceiver()
        receiver.stop()
        let service = try Self.service(receiver)
        defer { service.cleanup() }
        try service.start()
        try service.cp(Self.short, as: "short.wav")
        try service.waitUntil("a failed attempt recorded", timeout: 60) {
            try Self.deliveries(service).first.map { $0[1] == "pending" && Int($0[2]) ?? 0 >= 1 && !$0[8].isEmpty } ?? false
        }
        #expect(service.lines(containing: "Webhook not delivered; will retry").count >= 1)
        #expect(try Self.deliveries(service).first?[8] == "connection failed: connection refused")
        // The processor is not held up by the receiver: the job is done, the source moved.
        #expect(ServiceProcess.names(service.processed) == ["short.wav"])

        try receiver.start()
        try service.waitUntil("delivered after the receiver came back", timeout: 60) {
            try Self.deliveries(service).first?[1] == "delivered"
        }
        let requests = try receiver.requests()
        #expect(requests.count == 1)
        #expect(requests.first?.signature_ok == true && requests.first?.event == "job.completed")
        #expect(requests.first?.event_id == (try Self.deliveries(service).first?[5]))
        try service.terminate()
    }

    @Test("A receiver that never answers costs one timeout per attempt and does not hold up transcription")
    func slowReceiver() throws {
        let receiver = try WebhookReceiver()
        try receiver.start(status: 200, delay: 60)
        let service = try Self.service(receiver)
        defer { service.cleanup() }
        try service.start()
        try service.cp(Self.short, as: "a.wav")
        try service.waitUntil("the first event reaches the receiver", timeout: 60) { try !receiver.requests().isEmpty }
        let sent = Date()
        // While that request hangs, the next file is transcribed and moved as usual.
        try service.dropByRename(WatchServiceTests.shortVariant("slow"), name: "b.wav")
        try service.waitUntil("b.wav done while the receiver hangs", timeout: 60) {
            Set(ServiceProcess.names(service.processed)) == ["a.wav", "b.wav"]
        }
        try service.waitUntil("the hanging attempt recorded as failed", timeout: 30) {
            try Self.deliveries(service).contains { $0[4] == "1" && $0[1] == "pending" && Int($0[2]) ?? 0 >= 1 }
        }
        let elapsed = Date().timeIntervalSince(sent)
        #expect(elapsed > 8 && elapsed < 25, "the attempt's deadline is 10 s; recorded after \(elapsed) s")
        let row = try #require(try Self.deliveries(service).first { $0[4] == "1" })
        #expect(!row[8].isEmpty, "the timeout is recorded as the reason")
        try service.terminate()
    }

    @Test("A redirect is not followed; after webhook_max_attempts the delivery is given up, and `webhooks retry` sends it again")
    func givenUpThenRetried() throws {
        let receiver = try WebhookReceiver()
        try receiver.start(status: 200, redirect: "http://127.0.0.1:\(receiver.port)/followed")
        let service = try Self.service(receiver, environment: ["HEARINGAI_WEBHOOK_MAX_ATTEMPTS": "2"])
        defer { service.cleanup() }
        try service.start()
        try service.cp(Self.short, as: "short.wav")
        try service.waitUntil("given up", timeout: 60) { try Self.deliveries(service).first?[1] == "gave_up" }
        var rows = try Self.deliveries(service)
        #expect(rows.first?[2] == "2")
        #expect(rows.first?[8].contains("HTTP 302") == true)
        var requests = try receiver.requests()
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0.path == "/hook" })  // never "/followed"
        #expect(service.lines(containing: "Webhook given up").count == 1)

        try receiver.start(status: 200)
        let retry = try service.cli(["webhooks", "retry", "--given-up"])
        #expect(retry.status == 0)
        #expect(retry.stdout.contains("1 webhook delivery pending again"))
        try service.waitUntil("delivered after the retry", timeout: 30) { try Self.deliveries(service).first?[1] == "delivered" }
        rows = try Self.deliveries(service)
        requests = try receiver.requests()
        #expect(requests.count == 3)
        #expect(Set(requests.compactMap(\.event_id)) == [rows[0][5]])
        #expect(requests.last?.status == 200 && requests.last?.signature_ok == true)
        try service.terminate()
    }

    @Test("kill -9 after the job is done and before its event is delivered: delivered after the restart, with the same event id")
    func deliveredAfterKill() throws {
        let receiver = try WebhookReceiver(status: 503)
        let service = try Self.service(receiver)
        defer { service.cleanup() }
        try service.start()
        try service.cp(Self.short, as: "short.wav")
        try service.waitUntil("an attempt answered 503", timeout: 60) { try receiver.requests().contains { $0.status == 503 } }
        let first = try #require(try receiver.requests().first)
        #expect(first.event == "job.completed")
        try service.kill9()
        #expect(try Self.deliveries(service).first?[1] == "pending")

        try receiver.start(status: 200)
        try service.start()
        try service.waitUntil("delivered after the restart", timeout: 60) { try Self.deliveries(service).first?[1] == "delivered" }
        let requests = try receiver.requests()
        #expect(requests.last?.status == 200 && requests.last?.signature_ok == true)
        #expect(Set(requests.compactMap(\.event_id)) == [first.event_id!])
        #expect(Set(requests.map(\.body)).count == 1)
        // One job, one event: the restart did not transcribe again or write a second event.
        #expect(try Self.deliveries(service).count == 1)
        #expect(try service.status()["done"] == 1)
        try service.terminate()
    }

    @Test("webhook_url without webhook_secret_file, or not an http URL, refuses to start with one line")
    func refusedConfiguration() throws {
        let service = try ServiceProcess(["--webhook-url", "http://127.0.0.1:9/hook"])
        defer { service.cleanup() }
        try service.start(waitUntilReady: false)
        #expect(try service.waitForExit(timeout: 30) == 1)
        #expect(service.log().contains("webhook_url needs webhook_secret_file"))

        let receiver = try WebhookReceiver()
        try service.start(
            arguments: ["watch"] + service.directoryArguments + [
                "--webhook-url", "ftp://x/", "--webhook-secret-file", receiver.secretFile,
            ],
            waitUntilReady: false)
        #expect(try service.waitForExit(timeout: 30) == 1)
        #expect(service.log().contains("not an http:// or https:// URL"))
    }
}
