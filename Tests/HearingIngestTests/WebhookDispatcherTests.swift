import Foundation
import Testing

@testable import HearingIngest

@Suite("Webhook delivery")
struct WebhookDispatcherTests {
    @Test("Receiver URLs in the log keep scheme, host, port and path; a token in the query or user part is not shown")
    func redactedURLs() {
        #expect(WebhookDispatcher.redacted("https://hooks.example.org:8443/a/b") == "https://hooks.example.org:8443/a/b")
        let withToken = WebhookDispatcher.redacted("https://user:pw@hooks.example.org/t?token=abc#x")
        #expect(withToken.hasPrefix("https://hooks.example.org/t"))
        #expect(!withToken.contains("abc") && !withToken.contains("pw") && !withToken.contains("user"))
    }

    @Test("Backoff: 2 s doubling to 5 minutes, each drawn between half and all of it")
    func backoff() {
        for attempt in 1...20 {
            let full = min(300, 2 * pow(2, Double(attempt - 1)))
            let delay = WebhookDispatcher.backoff.delay(attempt: attempt)
            #expect(delay >= full * 0.5 && delay <= full, "attempt \(attempt): \(delay)")
        }
    }
}
