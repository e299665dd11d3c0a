import Foundation
public import HearingAI
public import Logging
public import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `hearingai watch`: the file-watching ingest service, as swift-service-lifecycle services.
///
/// ``init(configuration:engine:resources:logger:notifier:)`` opens the directories, takes the
/// instance lock and opens the queue. ``run()`` recovers what a crash left, scans the
/// inbox once, and then runs one `ServiceGroup` of:
///
/// 1. systemd notifications (`READY=1` once the group traps SIGTERM, then watchdog pings while
///    ``ServiceHealth`` says the service is ready),
/// 2. the processor (claims jobs and transcribes them, several short files at once as the
///    memory limit allows),
/// 3. the intake (settles dropped files into the queue; rescans),
/// 4. the inbox watcher (inotify events as hints), unless `poll_only`,
/// 5. what the caller adds (the HTTP API), given an ``IngestAccess``;
///
/// and, beside them, the metrics sampler (jobs by state, resident memory); when
/// `webhook_url` is set, the webhook delivery (``WebhookDispatcher``), which starts before
/// the processor and so stops after it; and on a shared queue the ``LeaseSweeper`` (expired
/// leases, this node's row, the fallback poll), the ``InboxListing`` (one node at a time
/// takes files from the shared inbox) and, unless `poll_only`, the ``QueueListener``
/// (LISTEN/NOTIFY).
///
/// They start in that order and stop in reverse on SIGTERM or SIGINT: the watcher first, then
/// the intake (no new files taken), then the processor (the chunks in flight finish and are
/// checkpointed, the lease is given back), the watchdog last. A stop that takes longer than
/// `shutdown_timeout_seconds` cancels what is left.
public struct IngestService: Sendable {
    /// The service's settings.
    public let configuration: IngestConfiguration
    let directories: IngestDirectories
    let queue: any JobQueue
    let resources: ResourceManager
    let engine: any TranscriptionEngine
    let logger: Logger
    let notifier: SystemdNotifier
    /// The queue's kind.
    let backend: any QueueBackend
    /// This process as a lease owner (`NODE:PID:START`).
    let owner: String
    /// One service per queue, for a queue that is not shared; nil for a shared one.
    let lock: InstanceLock?
    /// Sends webhooks; nil when none are configured.
    let webhookSender: (any WebhookSender)?
    /// The secret that signs them, read from `webhook_secret_file` at start.
    let webhookSecret: WebhookSecret?

    /// Opens the directories (creating missing ones) and the queue `database` names, through
    /// the first of `backends` that handles it, and — for a queue of one service (SQLite) —
    /// takes the instance lock beside it. `engine` is the one the configuration names, made
    /// by the caller (the executable knows every engine; this library does not).
    /// `webhookSender` delivers the webhooks `webhook_url` names (the executable's is over
    /// HTTP; this library has no HTTP stack); with URLs configured and no sender, starting
    /// fails. Throws a one-line ``HearingAIError`` for anything that stops the service
    /// starting.
    public init(
        configuration: IngestConfiguration,
        engine: any TranscriptionEngine,
        backends: QueueBackends = .embedded,
        resources: ResourceManager = .shared,
        logger: Logger,
        notifier: SystemdNotifier = SystemdNotifier(),
        webhookSender: (any WebhookSender)? = nil
    ) async throws {
        self.configuration = configuration
        if !configuration.webhookURLs.isEmpty {
            guard let webhookSender else {
                throw HearingAIError(.invalidOptions, reason: "webhook_url is set but this build has no way to send webhooks")
            }
            self.webhookSender = webhookSender
            webhookSecret = try configuration.webhookSecretFile.map { try WebhookSecret(file: $0) }
        } else {
            self.webhookSender = nil
            webhookSecret = nil
        }
        directories = try IngestDirectories(configuration: configuration)
        let backend = try backends.backend(for: configuration.database)
        self.backend = backend
        if backend.isShared {
            lock = nil
        } else {
            let directory = URL(fileURLWithPath: configuration.database).deletingLastPathComponent().path
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            lock = try InstanceLock(path: configuration.database + ".lock")
        }
        queue = try await backend.open(configuration, create: true, logger: logger)
        owner = Self.owner(node: configuration.nodeName)
        self.resources = resources
        self.engine = engine
        self.logger = logger
        self.notifier = notifier
    }

    /// A lease owner's identity: the node, this process's pid and its start time, so a
    /// reused pid is not mistaken for us.
    static func owner(node: String) -> String {
        let pid = getpid()
        return "\(node):\(pid):\(processStartTime(pid) ?? 0)"
    }

    /// Samples the gauges that are read rather than recorded (jobs by state, resident
    /// memory), for a metrics scrape to call before it renders.
    public func sampleMetrics() async {
        await ServiceMetrics.sample(queue: queue)
    }

    /// Runs the service until SIGTERM or SIGINT asks it to stop gracefully. `extraServices`
    /// makes services that run beside the ingest ones (the HTTP API) from what they may use;
    /// they start last and stop first.
    public func run(extraServices: @Sendable (IngestAccess) throws -> [any Service] = { _ in [] }) async throws {
        let doorbell = Doorbell()
        let webhookBell = Doorbell()
        ServiceMetrics.memoryLimit(resources.limit)
        let orchestrator = WorkflowOrchestrator(
            engine: engine, maxWorkers: configuration.pipeline.maxWorkers, resources: resources, logger: logger)
        // Watch before the first scan: a file dropped in between is seen by one or the other.
        let watcher = configuration.pollOnly ? nil : try InotifyWatcher(directory: directories.inbox.path)
        let health = ServiceHealth(
            inbox: directories.inboxPath, missingBound: configuration.inboxMissingTime, owner: owner,
            snapshotPath: backend.healthSnapshotPath(configuration), notifier: notifier)
        // On a shared queue one node at a time lists the inbox (InboxListing), none until then.
        let shared = backend.isShared ? queue as? any SharedJobQueue : nil
        let intake = Intake(
            directories: directories, queue: queue, configuration: configuration, logger: logger, notifier: notifier, doorbell: doorbell,
            health: health, watcher: watcher, listsInbox: shared == nil)
        let processor = JobProcessor(
            directories: directories, queue: queue, configuration: configuration, orchestrator: orchestrator,
            resources: resources, owner: owner, logger: logger, health: health, doorbell: doorbell, webhookBell: webhookBell)

        let filesystems = directories.filesystems()
        logger.info(
            "Directory filesystems",
            metadata: [
                "filesystems": "\(filesystems.joined(separator: ", "))",
                "moves": "\(filesystems.count == 1 ? "rename" : "copy between filesystems")",
            ])
        let uploads = Uploads(directories: directories, queue: queue, doorbell: doorbell, logger: logger)
        defer { uploads.shutdown() }
        let extra: [any Service]
        do {
            uploads.clear()
            try await recover(processor: processor, intake: intake)
            extra = try extraServices(
                IngestAccess(
                    configuration: configuration, queue: queue, uploads: uploads, health: health, logger: logger,
                    directories: directories, doorbell: doorbell))
        } catch {
            watcher?.stop()
            await orchestrator.close()
            throw error
        }
        await intake.rescan()
        let (logger, directories, resources) = (self.logger, self.directories, self.resources)
        let announce: @Sendable () -> Void = {
            logger.info(
                "Watching the inbox",
                metadata: [
                    "inbox": "\(directories.inbox.path)", "outbox": "\(directories.outbox.path)",
                    "memory.limit": "\(resources.limit.map(\.description) ?? "none")",
                ])
            health.setActivity("watching \(directories.inbox.path)")
        }

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(
                service: SystemdNotifications(notifier: notifier, health: health, announce: announce), successTerminationBehavior: .ignore),
            .init(service: MetricsSampler(queue: queue, interval: .seconds(15)), successTerminationBehavior: .ignore),
        ]
        if let webhookSender, let webhookSecret {
            logger.info(
                "Webhooks on",
                metadata: [
                    "webhook.urls": "\(configuration.webhookURLs.count)", "webhook.max_attempts": "\(configuration.webhookMaxAttempts)",
                ])
            services.append(
                .init(
                    service: WebhookDispatcher(
                        queue: queue, sender: webhookSender, secret: webhookSecret, maxAttempts: configuration.webhookMaxAttempts,
                        timeout: .seconds(10), doorbell: webhookBell, logger: logger),
                    successTerminationBehavior: .ignore))
        }
        if backend.isShared {
            services.append(
                .init(
                    service: LeaseSweeper(
                        queue: queue, owner: owner, node: configuration.nodeName,
                        member: ClusterNode(name: configuration.nodeName, owner: owner, memoryLimit: resources.limit?.bytes),
                        listsInbox: { await intake.listsInbox }, interval: LeaseSweeper.pollInterval, doorbell: doorbell,
                        logger: logger),
                    successTerminationBehavior: .ignore))
        }
        if let shared {
            if !configuration.pollOnly {
                services.append(.init(service: QueueListener(queue: shared, doorbell: doorbell), successTerminationBehavior: .ignore))
            }
            services.append(
                .init(service: InboxListing(queue: shared, intake: intake, logger: logger), successTerminationBehavior: .ignore))
        }
        services += [
            .init(service: processor, successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: intake, successTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if let watcher {
            services.append(
                .init(
                    service: InboxWatcher(watcher: watcher, intake: intake, logger: logger),
                    successTerminationBehavior: .gracefullyShutdownGroup))
        }
        services += extra.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) }
        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        try await ServiceGroup(configuration: groupConfiguration).run()
        logger.info("Stopped")
    }

    /// Startup recovery: requeue jobs a dead process held, finish moves a crash interrupted,
    /// and queue taken files that never made it into the database (on a shared queue the node
    /// that lists the inbox does that, when it starts listing: ``Intake/setListsInbox(_:)``).
    private func recover(processor: JobProcessor, intake: Intake) async throws {
        try await LeaseSweeper.sweep(queue: queue, owner: owner, node: configuration.nodeName, shared: backend.isShared, logger: logger)
        for entry in try directories.work.names() {
            guard let job = try await queue.job(workDir: entry.description) else { continue }
            switch job.state {
            case .done: try await processor.finishMove(job, to: directories.processed)
            case .failed: await processor.moveToFailed(job, reason: job.lastError ?? "failed", logger: logger)
            case .queued, .running: break
            }
        }
        if await intake.listsInbox { try await intake.queueTakenFiles() }
    }

    /// Whether the lease owner `owner` (`NODE:PID:START`) is gone, as far as this node can
    /// tell: a process of this node (`node`) that no longer runs, or whose pid was reused.
    /// Another node's process cannot be checked from here: on a `shared` queue it is alive
    /// until its lease expires (the queue takes such jobs back by its own clock); a queue of
    /// one service (whose lock this process holds) has no other live owner.
    static func isDead(owner: String, node: String, shared: Bool) -> Bool {
        let parts = owner.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return !shared }
        guard String(parts[0]) == node else { return !shared }
        return processIsGone(owner: owner)
    }

    /// Whether the process `owner` (`NODE:PID:START`) names no longer runs on this machine.
    static func processIsGone(owner: String) -> Bool {
        let parts = owner.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, let pid = Int32(parts[1]), let start = UInt64(parts[2]) else { return true }
        return processStartTime(pid) != start
    }

    /// Field 22 of /proc/PID/stat: the process's start time in clock ticks since boot.
    static func processStartTime(_ pid: Int32) -> UInt64? {
        ProcFS.stat(pid: String(pid))?[22].flatMap { UInt64($0) }
    }
}

/// An exclusive `flock` on a file beside the database: one service per queue.
final class InstanceLock: Sendable {
    private let fd: Int32

    init(path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HearingAIError.system("open the lock file", path: path, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw HearingAIError(.serviceUnavailable, path: path, reason: "another hearingai watch is using this database")
        }
        self.fd = fd
    }

    deinit { close(fd) }
}
