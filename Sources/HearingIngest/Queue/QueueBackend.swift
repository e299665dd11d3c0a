public import Foundation
public import HearingAI
public import Logging

/// One kind of ``JobQueue`` the `database` setting can name: SQLite (a path) in this library,
/// PostgreSQL (a `postgres://` URL) registered by the executable.
///
/// A backend joins the service by conforming and being added to the ``QueueBackends`` the
/// executable builds; the service, the API and the command line open their queue through it
/// and nothing else names the backend.
public protocol QueueBackend: Sendable {
    /// Its name, for logs and errors ("SQLite", "PostgreSQL").
    var name: String { get }
    /// Whether `database` names a queue of this kind.
    func handles(_ database: String) -> Bool
    /// Whether several services (nodes) share one queue of this kind. A shared queue takes no
    /// instance lock; another node's lease holder counts as alive until its lease expires by
    /// the queue's own clock; expired leases are swept and the queue is polled, since another
    /// node's new jobs ring no local doorbell (``LeaseSweeper``); a queue that also conforms
    /// to ``SharedJobQueue`` keeps rows of its nodes and announces claimable jobs.
    var isShared: Bool { get }
    /// Opens the queue `configuration.database` names, migrating it. With `create` false a
    /// queue that does not exist yet is an error (the command line reads a service's queue;
    /// it does not make one).
    func open(_ configuration: IngestConfiguration, create: Bool, logger: Logger?) async throws -> any JobQueue
    /// Where the running service publishes its ``ServiceHealth/Snapshot`` for `hearingai
    /// status` on this machine, or nil when it publishes none.
    func healthSnapshotPath(_ configuration: IngestConfiguration) -> String?
}

/// The queue backends this process can open, the first that handles a `database` value
/// winning.
public struct QueueBackends: Sendable {
    /// The backends, in the order they are asked.
    public private(set) var backends: [any QueueBackend]

    /// A registry of `backends`.
    public init(_ backends: [any QueueBackend]) {
        self.backends = backends
    }

    /// This library's: SQLite only.
    public static let embedded = QueueBackends([SQLiteJobQueue.Backend()])

    /// This registry with `backend` asked first.
    public func adding(_ backend: any QueueBackend) -> QueueBackends {
        QueueBackends([backend] + backends)
    }

    /// The backend for `database`. Throws naming only the URL's scheme (a URL may hold a
    /// password) when none handles it.
    public func backend(for database: String) throws -> any QueueBackend {
        if let backend = backends.first(where: { $0.handles(database) }) { return backend }
        let scheme = database.range(of: "://").map { String(database[..<$0.lowerBound]) } ?? database
        throw HearingAIError(
            .invalidOptions,
            reason: "database: a \(scheme):// URL names no queue this build can open (\(backends.map(\.name).joined(separator: ", ")))")
    }

    /// Opens the queue `configuration.database` names.
    public func open(_ configuration: IngestConfiguration, create: Bool = true, logger: Logger? = nil) async throws -> any JobQueue {
        try await backend(for: configuration.database).open(configuration, create: create, logger: logger)
    }
}

extension SQLiteJobQueue {
    /// SQLite: a file path (anything that is not a `scheme://` URL). One service per file,
    /// held by an instance lock beside it.
    public struct Backend: QueueBackend {
        public init() {}

        public var name: String { "SQLite" }
        public var isShared: Bool { false }

        public func handles(_ database: String) -> Bool { !database.contains("://") }

        public func open(_ configuration: IngestConfiguration, create: Bool, logger: Logger?) async throws -> any JobQueue {
            let path = configuration.database
            if create {
                let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
                try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } else if !FileManager.default.fileExists(atPath: path) {
                throw HearingAIError(.queueFailed, path: path, reason: "no queue database yet (start `hearingai watch` first)")
            }
            return try SQLiteJobQueue(path: path, logger: logger)
        }

        public func healthSnapshotPath(_ configuration: IngestConfiguration) -> String? {
            ServiceHealth.snapshotPath(database: configuration.database)
        }
    }
}
