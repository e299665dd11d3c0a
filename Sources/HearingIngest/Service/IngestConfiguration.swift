public import Configuration
import Foundation
public import HearingAI

/// Everything `hearingai watch` needs: the service's own keys and the pipeline's
/// (``HearingAI/PipelineConfiguration``, read from the same configuration).
///
/// The executable assembles the providers — flags, then environment (`HEARINGAI_` + the key
/// in upper case), then the YAML file, then the service's defaults. The service's keys:
///
/// | key | default | meaning |
/// |---|---|---|
/// | `inbox` | `./hearingai/inbox` | where files are dropped |
/// | `outbox` | `./hearingai/outbox` | where transcripts appear |
/// | `processed` | `./hearingai/processed` | where sources go once transcribed |
/// | `failed` | `./hearingai/failed` | where sources that failed go, with `NAME.error.json` |
/// | `database` | `./hearingai/queue.sqlite` | the queue: a SQLite path, or a `postgres://` URL shared by several nodes |
/// | `database_password_file` | none | the file holding the PostgreSQL password (else `PGPASSWORD`, else the URL's) |
/// | `node_name` | the host name | this service's name among the nodes of a shared queue |
/// | `lease_seconds` | 30 | how long a node may go without a heartbeat before another takes its job back |
/// | `settle_seconds` | 2 | a file must keep its size and mtime this long before it is taken |
/// | `empty_file_seconds` | 60 | an empty file must stay empty and unchanged this long before it is refused |
/// | `rescan_seconds` | 30 | full inbox rescans, for filesystems that give no events |
/// | `inbox_missing_seconds` | 60 | how long the inbox path may be missing before the service reports itself not ready |
/// | `poll_only` | false | no inotify (rescans alone: network filesystems) and no LISTEN (polls a shared queue: PgBouncer) |
/// | `max_file_mb` | 20480 | files larger than this go to failed/ unread |
/// | `max_attempts` | 3 | claims before a file is quarantined in failed/ |
/// | `shutdown_timeout_seconds` | 45 | how long a graceful stop may take before work is cancelled |
/// | `idle_release_seconds` | 30 | how long the queue must be idle before the decoders are released |
/// | `webhook_url` | none | receivers of `job.completed` and `job.failed` events (a list) |
/// | `webhook_secret_file` | none | the file holding the secret that signs webhook bodies; required with `webhook_url` |
/// | `webhook_max_attempts` | 12 | attempts at a webhook delivery before it is given up |
///
/// Output formats default to `txt,json` for the service (``defaultFormats``).
public struct IngestConfiguration: Sendable {
    /// Where files are dropped.
    public var inbox: String
    /// Where transcripts appear.
    public var outbox: String
    /// Where sources go once transcribed.
    public var processed: String
    /// Where sources that failed go.
    public var failed: String
    /// The queue: a SQLite path, or a URL that a registered ``QueueBackend`` opens
    /// (`postgres://…`).
    public var database: String
    /// The file holding the database password, read when the queue is opened (never logged).
    public var databasePasswordFile: String?
    /// This service's name among the nodes sharing a queue: the first part of its lease
    /// owner (`NODE:PID:START`).
    public var nodeName: String
    /// How long a lease holder may go without a heartbeat before its job is taken back (by the
    /// queue's own clock, on a shared queue); a node that cannot heartbeat for half of it
    /// abandons its job by itself.
    public var leaseDuration: Duration
    /// What shapes each transcript: chunking, workers, memory limit, engine, diarization,
    /// formats.
    public var pipeline: PipelineConfiguration
    /// How long a file must stay unchanged before it is taken.
    public var settleTime: Duration
    /// How long an empty file must stay empty and unchanged before it is refused (it may be
    /// a file its writer has created and not yet written).
    public var emptyFileTime: Duration
    /// How often the whole inbox is rescanned.
    public var rescanInterval: Duration
    /// How long the inbox path may be missing (deleted, moved away, unmounted) before the
    /// service reports itself not ready: `STATUS=` says so and the watchdog is no longer fed.
    public var inboxMissingTime: Duration
    /// Whether to rely on polling alone: rescans of the inbox without inotify, and polls of a
    /// shared queue without LISTEN.
    public var pollOnly: Bool
    /// Files larger than this are refused unread.
    public var maxFileBytes: Int64
    /// Claims before a file is quarantined.
    public var maxAttempts: Int
    /// How long a graceful stop may take (finishing and checkpointing the chunks in flight)
    /// before the remaining work is cancelled.
    public var shutdownTimeout: Duration
    /// How long the queue must have no work before the decoders are released. Between files
    /// they stay loaded, so a run of small files pays the model load once.
    public var idleRelease: Duration
    /// Where `job.completed` and `job.failed` events are POSTed; none by default.
    public var webhookURLs: [String]
    /// The file holding the webhook secret (read when the service starts, never logged).
    public var webhookSecretFile: String?
    /// Attempts at one webhook delivery before it is given up.
    public var webhookMaxAttempts: Int

    /// The formats the service writes unless configured otherwise.
    public static let defaultFormats: [TranscriptFormat] = [.txt, .json]

    /// Reads every key from `config`: the table above, and the pipeline's keys with the
    /// engines in `engines`. `defaultRoot` holds the four directories and the database when
    /// they are not configured; `environment` supplies fallback variables (`OPENAI_API_KEY`).
    public init(
        config: ConfigReader, engines: EngineRegistry = .embedded, defaultRoot: String = "./hearingai",
        environment: [String: String] = [:]
    ) throws {
        let keys = Keys.self
        func string(_ key: ConfigurationKey, _ fallback: String) throws -> String {
            try config.value(for: key)?.description ?? fallback
        }
        func double(_ key: ConfigurationKey, _ fallback: Double) throws -> Double {
            try config.value(for: key)?.doubleValue ?? fallback
        }
        func int(_ key: ConfigurationKey, _ fallback: Int) throws -> Int {
            try config.value(for: key)?.intValue ?? fallback
        }
        inbox = try string(keys.inbox, defaultRoot + "/inbox")
        outbox = try string(keys.outbox, defaultRoot + "/outbox")
        processed = try string(keys.processed, defaultRoot + "/processed")
        failed = try string(keys.failed, defaultRoot + "/failed")
        database = try string(keys.database, defaultRoot + "/queue.sqlite")
        databasePasswordFile = try config.value(for: keys.databasePasswordFile)?.description
        nodeName = try string(keys.nodeName, ProcessInfo.processInfo.hostName)
        guard !nodeName.isEmpty, !nodeName.contains(":") else {
            throw HearingAIError(.invalidOptions, reason: "node_name: '\(nodeName)' must be non-empty and without ':'")
        }
        leaseDuration = .milliseconds(Int64(max(2, try double(keys.leaseSeconds, 30)) * 1000))
        settleTime = .milliseconds(Int64(try double(keys.settleSeconds, 2) * 1000))
        emptyFileTime = .milliseconds(Int64(max(0, try double(keys.emptyFileSeconds, 60)) * 1000))
        rescanInterval = .milliseconds(Int64(max(0.1, try double(keys.rescanSeconds, 30)) * 1000))
        inboxMissingTime = .milliseconds(Int64(max(0, try double(keys.inboxMissingSeconds, 60)) * 1000))
        pollOnly = try config.value(for: keys.pollOnly) == .bool(true)
        maxFileBytes = Int64(try int(keys.maxFileMB, 20_480)) * 1_048_576
        maxAttempts = max(1, try int(keys.maxAttempts, 3))
        shutdownTimeout = .milliseconds(Int64(max(1, try double(keys.shutdownTimeoutSeconds, 45)) * 1000))
        idleRelease = .milliseconds(Int64(max(0, try double(keys.idleReleaseSeconds, 30)) * 1000))
        webhookURLs = try config.strings(for: keys.webhookURL) ?? []
        webhookSecretFile = try config.value(for: keys.webhookSecretFile)?.description
        webhookMaxAttempts = max(1, try int(keys.webhookMaxAttempts, 12))
        for url in webhookURLs {
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
                parsed.host?.isEmpty == false
            else {
                throw HearingAIError(.invalidOptions, reason: "webhook_url: '\(url)' is not an http:// or https:// URL")
            }
        }
        if !webhookURLs.isEmpty && webhookSecretFile == nil {
            throw HearingAIError(
                .invalidOptions, reason: "webhook_url needs webhook_secret_file: receivers verify each body's signature with the secret")
        }
        pipeline = try PipelineConfiguration(
            config: config, engines: engines, environment: environment, defaultFormats: Self.defaultFormats)
    }

    /// Where a job's transcript is kept in the queue's result store: its content and the
    /// pipeline's fingerprint, so the same audio under the same settings is transcribed once.
    public func resultKey(for job: Job) -> String {
        job.sha256 + ":" + pipeline.fingerprint
    }

    /// The service's own keys.
    public static let keys: [ConfigurationKey] = [
        Keys.inbox, Keys.outbox, Keys.processed, Keys.failed, Keys.database, Keys.databasePasswordFile, Keys.nodeName, Keys.leaseSeconds,
        Keys.settleSeconds, Keys.emptyFileSeconds, Keys.rescanSeconds,
        Keys.inboxMissingSeconds, Keys.pollOnly, Keys.maxFileMB, Keys.maxAttempts, Keys.shutdownTimeoutSeconds, Keys.idleReleaseSeconds,
        Keys.webhookURL, Keys.webhookSecretFile, Keys.webhookMaxAttempts,
    ]

    /// The service's keys by name.
    public enum Keys {
        /// `inbox`.
        public static let inbox = ConfigurationKey(
            "inbox", .string, flag: "--inbox", default: "$XDG_DATA_HOME/hearingai/inbox", help: "The inbox directory.")
        /// `outbox`.
        public static let outbox = ConfigurationKey(
            "outbox", .string, flag: "--outbox", default: "…/hearingai/outbox", help: "The outbox directory.")
        /// `processed`.
        public static let processed = ConfigurationKey(
            "processed", .string, flag: "--processed", default: "…/hearingai/processed", help: "Where transcribed sources go.")
        /// `failed`.
        public static let failed = ConfigurationKey(
            "failed", .string, flag: "--failed", default: "…/hearingai/failed", help: "Where failed sources go.")
        /// `database`.
        public static let database = ConfigurationKey(
            "database", .string, flag: "--database", default: "…/hearingai/queue.sqlite",
            help: "The queue: a SQLite file, or a postgres:// URL that several nodes share.")
        /// `database_password_file`.
        public static let databasePasswordFile = ConfigurationKey(
            "database_password_file", .string, flag: "--database-password-file", default: "none",
            help: "A file holding the PostgreSQL password (else PGPASSWORD, else the URL's).")
        /// `node_name`.
        public static let nodeName = ConfigurationKey(
            "node_name", .string, flag: "--node-name", default: "the host name",
            help: "This service's name among the nodes sharing a queue.")
        /// `lease_seconds`.
        public static let leaseSeconds = ConfigurationKey(
            "lease_seconds", .double, default: "30",
            help: "How long a node may go without a heartbeat before another node takes its job back.")
        /// `settle_seconds`.
        public static let settleSeconds = ConfigurationKey(
            "settle_seconds", .double, flag: "--settle-seconds", default: "2",
            help: "How long a file must stay unchanged before it is taken.")
        /// `empty_file_seconds`.
        public static let emptyFileSeconds = ConfigurationKey(
            "empty_file_seconds", .double, default: "60",
            help: "How long an empty file must stay empty and unchanged before it is refused.")
        /// `rescan_seconds`.
        public static let rescanSeconds = ConfigurationKey(
            "rescan_seconds", .double, flag: "--rescan-seconds", default: "30", help: "How often the whole inbox is rescanned.")
        /// `inbox_missing_seconds`.
        public static let inboxMissingSeconds = ConfigurationKey(
            "inbox_missing_seconds", .double, flag: "--inbox-missing-seconds", default: "60",
            help: "How long the inbox may be missing before the service reports itself not ready.")
        /// `poll_only`.
        public static let pollOnly = ConfigurationKey(
            "poll_only", .bool, flag: "--poll-only", default: "false",
            help:
                "Do not use inotify or LISTEN: find files by rescanning (network filesystems) and jobs by polling a PostgreSQL queue (PgBouncer in transaction mode)."
        )
        /// `max_file_mb`.
        public static let maxFileMB = ConfigurationKey("max_file_mb", .int, default: "20480", help: "Larger files go to failed/ unread.")
        /// `max_attempts`.
        public static let maxAttempts = ConfigurationKey("max_attempts", .int, default: "3", help: "Claims before a file is quarantined.")
        /// `shutdown_timeout_seconds`.
        public static let shutdownTimeoutSeconds = ConfigurationKey(
            "shutdown_timeout_seconds", .double, default: "45",
            help: "How long a graceful stop may take before the work in flight is cancelled.")
        /// `idle_release_seconds`.
        public static let idleReleaseSeconds = ConfigurationKey(
            "idle_release_seconds", .double, default: "30",
            help: "How long the queue must be idle before the decoders are released (they stay loaded between files).")
        /// `webhook_url`.
        public static let webhookURL = ConfigurationKey(
            "webhook_url", .strings, flag: "--webhook-url", default: "none",
            help: "A URL that receives job.completed and job.failed events (repeatable).")
        /// `webhook_secret_file`.
        public static let webhookSecretFile = ConfigurationKey(
            "webhook_secret_file", .string, flag: "--webhook-secret-file", default: "none",
            help: "A file holding the secret that signs webhook bodies (X-HearingAI-Signature).")
        /// `webhook_max_attempts`.
        public static let webhookMaxAttempts = ConfigurationKey(
            "webhook_max_attempts", .int, default: "12", help: "Attempts at a webhook delivery before it is given up.")
    }
}
