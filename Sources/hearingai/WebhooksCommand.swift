import ArgumentParser
import Foundation
import HearingAI
import HearingIngest

/// `hearingai webhooks list|retry`: the webhook outbox of the service's queue.
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "List the webhook deliveries and send given-up ones again.",
        subcommands: [List.self, Retry.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List webhook deliveries, newest first.")
        @OptionGroup var service: ServiceOptions
        @Option(help: "Only deliveries in this state: pending, delivered, gave_up.") var state: String?
        @Option(help: "At most this many.") var limit = 50

        func run() async throws {
            try await CLIFailure.reporting {
                let filter = try state.map { value -> WebhookDelivery.State in
                    guard let state = WebhookDelivery.State(rawValue: value) else {
                        throw HearingAIError(.invalidOptions, reason: "unknown state '\(value)' (pending, delivered, gave_up)")
                    }
                    return state
                }
                let queue = try await service.openQueue()
                print("ID\tSTATE\tTRIES\tEVENT\tJOB\tEVENT_ID\tUPDATED\tURL\tLAST")
                for delivery in try await queue.webhooks(state: filter, limit: limit) {
                    let last = delivery.lastError ?? delivery.lastStatus.map { "HTTP \($0)" } ?? ""
                    print(
                        [
                            "\(delivery.id ?? 0)", delivery.state.rawValue, "\(delivery.attempts)", delivery.event, "\(delivery.jobID)",
                            delivery.eventID, JobsCommand.date(delivery.updatedAt), delivery.url, last,
                        ].joined(separator: "\t"))
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make deliveries pending again with their attempts reset; the running service sends them within seconds.")
        @OptionGroup var service: ServiceOptions
        @Flag(help: "Every given-up delivery.") var givenUp = false
        @Argument(help: "Delivery IDs (from `webhooks list`); a delivered one is sent again.") var ids: [Int64] = []

        func validate() throws {
            if ids.isEmpty == !givenUp { throw ValidationError("give delivery IDs or --given-up") }
        }

        func run() async throws {
            try await CLIFailure.reporting {
                let queue = try await service.openQueue()
                let changed = try await queue.retryWebhooks(givenUp ? nil : ids, now: Date())
                if !givenUp && changed < ids.count {
                    throw HearingAIError(.invalidOptions, reason: "\(ids.count - changed) of the IDs name no delivery")
                }
                print("\(changed) webhook deliver\(changed == 1 ? "y" : "ies") pending again")
            }
        }
    }
}
