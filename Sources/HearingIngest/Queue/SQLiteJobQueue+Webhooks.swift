public import Foundation
import GRDB

extension SQLiteJobQueue {
    public func dueWebhooks(now: Date, limit: Int) async throws -> [WebhookDelivery] {
        try await read { db in
            try WebhookDelivery
                .filter(WebhookDelivery.Columns.state == WebhookDelivery.State.pending.rawValue && WebhookDelivery.Columns.notBefore <= now)
                .order(WebhookDelivery.Columns.notBefore, WebhookDelivery.Columns.id)
                .limit(limit)
                .fetchAll(db)
        }
    }

    public func nextWebhookDue() async throws -> Date? {
        try await read { db in
            try WebhookDelivery.filter(WebhookDelivery.Columns.state == WebhookDelivery.State.pending.rawValue)
                .select(min(WebhookDelivery.Columns.notBefore), as: Date.self)
                .fetchOne(db)
        }
    }

    public func webhookDelivered(_ id: Int64, status: Int, now: Date) async throws {
        try await write { db in
            _ = try WebhookDelivery.filter(key: id).updateAll(
                db,
                [
                    WebhookDelivery.Columns.state.set(to: WebhookDelivery.State.delivered.rawValue),
                    WebhookDelivery.Columns.attempts.set(to: WebhookDelivery.Columns.attempts + 1),
                    WebhookDelivery.Columns.lastStatus.set(to: status), WebhookDelivery.Columns.lastError.set(to: nil),
                    WebhookDelivery.Columns.deliveredAt.set(to: now), WebhookDelivery.Columns.updatedAt.set(to: now),
                ])
        }
    }

    public func webhookAttemptFailed(_ id: Int64, error: String, status: Int?, retryAt: Date?, now: Date) async throws {
        try await write { db in
            var assignments = [
                WebhookDelivery.Columns.attempts.set(to: WebhookDelivery.Columns.attempts + 1),
                WebhookDelivery.Columns.lastStatus.set(to: status), WebhookDelivery.Columns.lastError.set(to: error),
                WebhookDelivery.Columns.updatedAt.set(to: now),
            ]
            if let retryAt {
                assignments += [
                    WebhookDelivery.Columns.state.set(to: WebhookDelivery.State.pending.rawValue),
                    WebhookDelivery.Columns.notBefore.set(to: retryAt),
                ]
            } else {
                assignments.append(WebhookDelivery.Columns.state.set(to: WebhookDelivery.State.gaveUp.rawValue))
            }
            _ = try WebhookDelivery.filter(key: id).updateAll(db, assignments)
        }
    }

    public func webhooks(state: WebhookDelivery.State?, limit: Int) async throws -> [WebhookDelivery] {
        try await read { db in
            var request = WebhookDelivery.order(WebhookDelivery.Columns.id.desc).limit(limit)
            if let state { request = request.filter(WebhookDelivery.Columns.state == state.rawValue) }
            return try request.fetchAll(db)
        }
    }

    public func retryWebhooks(_ ids: [Int64]?, now: Date) async throws -> Int {
        try await write { db in
            let request =
                ids.map { WebhookDelivery.filter(keys: $0) }
                ?? WebhookDelivery.filter(WebhookDelivery.Columns.state == WebhookDelivery.State.gaveUp.rawValue)
            return try request.updateAll(
                db,
                [
                    WebhookDelivery.Columns.state.set(to: WebhookDelivery.State.pending.rawValue),
                    WebhookDelivery.Columns.attempts.set(to: 0), WebhookDelivery.Columns.notBefore.set(to: now),
                    WebhookDelivery.Columns.deliveredAt.set(to: nil), WebhookDelivery.Columns.updatedAt.set(to: now),
                ])
        }
    }
}
