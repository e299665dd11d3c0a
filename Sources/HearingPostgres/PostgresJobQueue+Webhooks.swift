public import Foundation
public import HearingIngest
import PostgresNIO

extension PostgresJobQueue {
    public func dueWebhooks(now: Date, limit: Int) async throws -> [WebhookDelivery] {
        try await query(
            """
            SELECT * FROM webhook_delivery WHERE state = 'pending' AND not_before <= \(now.millis)
            ORDER BY not_before, id LIMIT \(limit)
            """
        ).map(Self.delivery)
    }

    public func nextWebhookDue() async throws -> Date? {
        try await query("SELECT min(not_before) FROM webhook_delivery WHERE state = 'pending'").first?.decode(Date?.self)
    }

    public func webhookDelivered(_ id: Int64, status: Int, now: Date) async throws {
        try await query(
            """
            UPDATE webhook_delivery SET state = 'delivered', attempts = attempts + 1, last_status = \(status), last_error = NULL,
                delivered_at = \(now.millis), updated_at = \(now.millis)
            WHERE id = \(id)
            """)
    }

    public func webhookAttemptFailed(_ id: Int64, error: String, status: Int?, retryAt: Date?, now: Date) async throws {
        // Pending again, due at `retryAt`; or given up (and its due time left as it was).
        try await query(
            """
            UPDATE webhook_delivery SET attempts = attempts + 1, last_status = \(status), last_error = \(error), updated_at = \(now.millis),
                state = CASE WHEN \(retryAt?.millis)::timestamptz IS NULL THEN 'gave_up' ELSE 'pending' END,
                not_before = COALESCE(\(retryAt?.millis)::timestamptz, not_before)
            WHERE id = \(id)
            """)
    }

    public func webhooks(state: WebhookDelivery.State?, limit: Int) async throws -> [WebhookDelivery] {
        try await query(
            """
            SELECT * FROM webhook_delivery WHERE (\(state?.rawValue)::text IS NULL OR state = \(state?.rawValue))
            ORDER BY id DESC LIMIT \(limit)
            """
        ).map(Self.delivery)
    }

    public func retryWebhooks(_ ids: [Int64]?, now: Date) async throws -> Int {
        try await query(
            """
            UPDATE webhook_delivery SET state = 'pending', attempts = 0, not_before = \(now.millis), delivered_at = NULL, updated_at = \(now.millis)
            WHERE CASE WHEN \(ids)::bigint[] IS NULL THEN state = 'gave_up' ELSE id = ANY(\(ids)::bigint[]) END
            RETURNING id
            """
        ).count
    }
}
