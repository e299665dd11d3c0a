public import Foundation
import HearingAI
public import HearingIngest
public import Logging

extension PostgresJobQueue {
    /// PostgreSQL: a `postgres://` or `postgresql://` URL. Shared: every node that names the
    /// same database is one cluster, coordinated by the database alone.
    ///
    /// The password comes from `database_password_file` (its first line), else the `PGPASSWORD`
    /// environment variable, else the URL; it is never logged.
    public struct Backend: QueueBackend {
        /// The environment `PGPASSWORD` is read from.
        let environment: [String: String]

        /// A backend reading `PGPASSWORD` from `environment`.
        public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
            self.environment = environment
        }

        public var name: String { "PostgreSQL" }
        public var isShared: Bool { true }

        public func handles(_ database: String) -> Bool {
            let lower = database.lowercased()
            return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
        }

        public func open(_ configuration: IngestConfiguration, create: Bool, logger: Logger?) async throws -> any JobQueue {
            try await PostgresJobQueue(
                url: configuration.database, password: try password(configuration), leaseDuration: configuration.leaseDuration,
                logger: logger)
        }

        /// No file: a shared queue's nodes report through the queue itself.
        public func healthSnapshotPath(_ configuration: IngestConfiguration) -> String? { nil }

        /// The password from the file, or the environment; nil leaves the URL's.
        func password(_ configuration: IngestConfiguration) throws -> String? {
            if let file = configuration.databasePasswordFile {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw HearingAIError(.invalidOptions, path: file, reason: "database_password_file cannot be read")
                }
                let text = String(decoding: data, as: UTF8.self)
                return String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            }
            return environment["PGPASSWORD"]
        }
    }
}
