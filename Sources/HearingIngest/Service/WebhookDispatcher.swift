import Foundation
import HearingAI
import Logging
import ServiceLifecycle

/// Delivers the webhook outbox: a service of its own beside the processor, so a slow or dead
/// receiver never holds up transcription (the processor only writes rows, in the transaction
/// that finishes a job).
///
/// It sends every due delivery (up to ``batch`` at once, each bounded by `timeout`), records
/// each answer, and sleeps until the next one falls due, the processor rings, or
/// ``idleCheck`` passes (so `hearingai webhooks retry`, another process, is seen). A 2xx
/// answer delivers; anything else — another status, a redirect (not followed), a refused
/// connection, a timeout — is retried after a capped exponential backoff with jitter, until
/// `maxAttempts` attempts have failed, when the delivery is given up and kept for
/// `hearingai webhooks retry`. At least once: an attempt interrupted by a stop or a kill is
/// not recorded, so it is made again after the restart, with the same event id.
struct WebhookDispatcher: Service {
    let queue: any JobQueue
    let sender: any WebhookSender
    let secret: WebhookSecret
    let maxAttempts: Int
    let timeout: Duration
    let doorbell: Doorbell
    let logger: Logger

    /// Deliveries sent at once.
    static let batch = 16
    /// The longest sleep with nothing due.
    static let idleCheck: Duration = .seconds(5)
    /// 2 s, 4 s, 8 s, ... up to 5 minutes, each taken between half and all of it (jitter
    /// spreads retries to a receiver that comes back).
    static let backoff = Backoff(base: 2, factor: 2, cap: 300, jitter: 0.5...1.0)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let due: [WebhookDelivery]
                do {
                    due = try await queue.dueWebhooks(now: Date(), limit: Self.batch)
                } catch {
                    logger.error("Could not read the webhook outbox", metadata: ["error": "\(error)"])
                    await doorbell.wait(for: .seconds(5))
                    continue
                }
                if due.isEmpty {
                    await waitForWork()
                    continue
                }
                await withDiscardingTaskGroup { group in
                    for delivery in due {
                        group.addTask { await self.attempt(delivery) }
                    }
                }
            }
        }
    }

    /// Sleeps until the processor rings, the next delivery falls due, or ``idleCheck``.
    private func waitForWork() async {
        var timeout = Self.idleCheck
        if let next = (try? await queue.nextWebhookDue()) ?? nil {
            let seconds = next.timeIntervalSinceNow
            guard seconds > 0 else { return }
            timeout = min(timeout, .milliseconds(Int64(seconds * 1000) + 1))
        }
        await doorbell.wait(for: timeout)
    }

    /// `url` for the log: scheme, host, port and path only. Receivers often carry a token in
    /// the query or the user part, and the journal is read more widely than the configuration.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "<unparsable URL>" }
        let hidden = components.query != nil || components.user != nil || components.password != nil
        components.query = nil
        components.user = nil
        components.password = nil
        components.fragment = nil
        return (components.string ?? "<unparsable URL>") + (hidden ? " (query and credentials not shown)" : "")
    }

    /// One attempt at `delivery`, recorded unless the service is stopping.
    func attempt(_ delivery: WebhookDelivery) async {
        guard let id = delivery.id else { return }
        var logger = self.logger
        logger[metadataKey: "webhook.id"] = "\(id)"
        logger[metadataKey: "webhook.event_id"] = "\(delivery.eventID)"
        logger[metadataKey: "webhook.url"] = "\(Self.redacted(delivery.url))"
        logger[metadataKey: "job.id"] = "\(delivery.jobID)"
        let request = WebhookRequest(
            url: delivery.url,
            headers: [
                ("Content-Type", "application/json"),
                (WebhookSignature.eventHeader, delivery.event),
                (WebhookSignature.eventIDHeader, delivery.eventID),
                (WebhookSignature.header, WebhookSignature.value(body: delivery.body, secret: secret)),
            ],
            body: delivery.body, timeout: timeout)
        let failure: (reason: String, status: Int?)
        do {
            let status = try await sender.send(request)
            if (200..<300).contains(status) {
                try await queue.webhookDelivered(id, status: status, now: Date())
                ServiceMetrics.webhookAttempt("delivered")
                logger.info("Webhook delivered", metadata: ["http.status": "\(status)", "webhook.attempt": "\(delivery.attempts + 1)"])
                return
            }
            failure = ((300..<400).contains(status) ? "HTTP \(status) (redirects are not followed)" : "HTTP \(status)", status)
        } catch {
            // A stop cancels attempts in flight: unrecorded, they are made again at the next start.
            if Task.isCancelled { return }
            failure = ("\(HearingAIError(error).reason)", nil)
        }
        let attempts = delivery.attempts + 1
        let retryAt = attempts >= maxAttempts ? nil : Date().addingTimeInterval(Self.backoff.delay(attempt: attempts))
        do {
            try await queue.webhookAttemptFailed(id, error: failure.reason, status: failure.status, retryAt: retryAt, now: Date())
        } catch {
            logger.error("Could not record a webhook attempt", metadata: ["error": "\(error)"])
            return
        }
        if let retryAt {
            ServiceMetrics.webhookAttempt("retry")
            logger.info(
                "Webhook not delivered; will retry",
                metadata: [
                    "error": "\(failure.reason)", "webhook.attempt": "\(attempts)",
                    "retry.in_seconds": "\(String(format: "%.1f", retryAt.timeIntervalSinceNow))",
                ])
        } else {
            ServiceMetrics.webhookAttempt("gave_up")
            logger.warning(
                "Webhook given up after its last attempt; `hearingai webhooks retry` sends it again",
                metadata: ["error": "\(failure.reason)", "webhook.attempts": "\(attempts)"])
        }
    }
}
