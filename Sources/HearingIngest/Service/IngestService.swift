public import HearingAI
public import Logging
public import ServiceLifecycle
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `hearingai watch`: the file-watching ingest service.
///
/// An inotify watcher picks up files dropped into the inbox, the intake queues them in
/// SQLite once they are complete, and the processor takes them one at a time through the
/// chunked orchestrator within the memory limit, writes transcripts to the outbox, and calls
/// cleanup between files. On graceful shutdown (SIGTERM, SIGINT) intake stops, the chunks in
/// flight are checkpointed, the lease is given back, and `run()` returns.
public struct IngestService: Service {
    /// The service's settings.
    public let configuration: IngestConfiguration
    let directories: IngestDirectories
    let queue: JobQueue
    let resources: ResourceManager
    let engine: any TranscriptionEngine
    let logger: Logger
    let notifier: SystemdNotifier
    let lock: InstanceLock

    /// Opens the directories (creating missing ones) and the queue, and takes the instance
    /// lock. Throws a one-line ``IngestError`` for anything that stops the service starting.
    public init(
        configuration: IngestConfiguration,
        engine: (any TranscriptionEngine)? = nil,
        resources: ResourceManager = .shared,
        logger: Logger,
        notifier: SystemdNotifier = SystemdNotifier()
    ) throws {
        self.configuration = configuration
        directories = try IngestDirectories(configuration: configuration)
        let databaseDirectory = URL(fileURLWithPath: configuration.database).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: databaseDirectory, withIntermediateDirectories: true)
        lock = try InstanceLock(path: configuration.database + ".lock")
        do {
            queue = try JobQueue(path: configuration.database)
        } catch {
            throw IngestError("database \(configuration.database): \(error)")
        }
        self.resources = resources
        self.engine = engine ?? configuration.engine.make()
        self.logger = logger
        self.notifier = notifier
    }

    /// This process's identity as a lease owner: host, pid and the process's start time, so a
    /// reused pid is not mistaken for us.
    static let owner: String = {
        let host = ProcessInfo.processInfo.hostName
        let pid = getpid()
        return "\(host):\(pid):\(processStartTime(pid) ?? 0)"
    }()

    public func run() async throws {
        let orchestrator = WorkflowOrchestrator(
            engine: engine, maxWorkers: configuration.options.maxWorkers, resources: resources, logger: logger)
        let wakeups = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let intake = Intake(directories: directories, queue: queue, configuration: configuration, logger: logger) {
            wakeups.continuation.yield()
        }
        let processor = JobProcessor(
            directories: directories, queue: queue, configuration: configuration,
            orchestrator: orchestrator, owner: Self.owner, logger: logger, notifier: notifier)
        let watcher = configuration.pollOnly ? nil : try InotifyWatcher(directory: directories.inbox.path)
        defer {
            watcher?.stop()
        }

        try await recover(processor: processor, intake: intake)
        await intake.rescan()
        notifier.ready()
        notifier.status("watching \(directories.inbox.path)")
        logger.info("Watching the inbox", metadata: [
            "inbox": "\(directories.inbox.path)", "outbox": "\(directories.outbox.path)",
            "memory.limit": "\(resources.limit.map(\.description) ?? "none")",
        ])

        await withTaskGroup(of: Void.self) { group in
            // Intake: events as hints, the listing as truth.
            if let watcher {
                group.addTask {
                await cancelWhenGracefulShutdown {
                    for await event in watcher.events {
                        switch event {
                        case .changed(let name): await intake.observe(name)
                        case .overflow:
                            logger.warning("inotify queue overflowed; rescanning the inbox")
                            await intake.rescan()
                        }
                    }
                }
                watcher.stop()
                }
            }
            // Settling and periodic rescans.
            group.addTask {
                await cancelWhenGracefulShutdown {
                    let clock = ContinuousClock()
                    var lastScan = clock.now
                    while !Task.isCancelled {
                        await intake.takeSettled()
                        if clock.now - lastScan >= configuration.rescanInterval {
                            await intake.rescan()
                            lastScan = clock.now
                        }
                        let wait = min(await intake.nextSettle() ?? .milliseconds(250), .milliseconds(250))
                        try? await Task.sleep(for: max(wait, .milliseconds(20)))
                    }
                }
            }
            // Watchdog pings while healthy.
            if let interval = notifier.watchdogInterval {
                group.addTask {
                    await cancelWhenGracefulShutdown {
                        while !Task.isCancelled {
                            notifier.watchdog()
                            try? await Task.sleep(for: interval)
                        }
                    }
                }
            }
            // A tick a second for the processor: retries coming due, and a safety net.
            group.addTask {
                await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        wakeups.continuation.yield()
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
            }
            // The processor: one file at a time.
            group.addTask {
                await cancelWhenGracefulShutdown {
                    await processLoop(processor: processor, wakeups: wakeups.stream)
                }
                wakeups.continuation.finish()
                // Decoders and the intake thread go when work stops.
                await orchestrator.close()
                await intake.close()
            }
        }
        notifier.stopping()
        logger.info("Stopped")
    }

    /// Claims and processes jobs until cancelled. `wakeups` carries "a job was queued" from
    /// the intake and a tick every second (retries coming due); it coalesces to one pending.
    private func processLoop(processor: JobProcessor, wakeups: AsyncStream<Void>) async {
        for await _ in wakeups {
            while !Task.isCancelled {
                let job: Job?
                do {
                    job = try queue.claim(owner: Self.owner)
                } catch {
                    logger.error("Could not claim a job", metadata: ["error": "\(error)"])
                    break
                }
                guard let job else { break }
                await processor.process(job)
                let freed = await resources.cleanup()
                logger.debug("Cleanup between files", metadata: ["memory.freed_mb": "\(String(format: "%.1f", freed))"])
                notifier.status("watching \(directories.inbox.path)")
            }
        }
    }

    /// Startup recovery: requeue jobs a dead process held, queue taken files that never
    /// made it into the database, and finish moves a crash interrupted.
    private func recover(processor: JobProcessor, intake: Intake) async throws {
        let requeued = try queue.requeueOrphans(owner: Self.owner) { Self.isDead(owner: $0) }
        for job in requeued {
            logger.info("Requeued a job its dead owner left running", metadata: ["job.id": "\(job.id ?? 0)", "file.name": "\(job.fileName)"])
        }
        for entry in try directories.work.names() {
            let workDir = entry.description
            if let job = try queue.job(workDir: workDir) {
                switch job.state {
                case .done: try processor.finishMove(job, to: directories.processed)
                case .failed: processor.fail(job, reason: job.lastError ?? "failed", logger: logger)
                case .queued, .running: break
                }
                continue
            }
            let jobDirectory = try Directory(path: "\(directories.work.path)/\(workDir)")
            guard jobDirectory.contains(IngestDirectories.sourceName),
                  let nameData = FileManager.default.contents(atPath: "\(jobDirectory.path)/\(IngestDirectories.nameFile)"),
                  let status = try jobDirectory.status(of: IngestDirectories.sourceName)
            else {
                // Made but never filled: the file is still in the inbox.
                jobDirectory.remove(IngestDirectories.nameFile, directory: false)
                directories.work.remove(entry, directory: true)
                continue
            }
            let sha = try await intake.hash(path: directories.sourcePath(workDir: workDir))
            let name = FileName(bytes: Array(nameData))
            let job = try queue.enqueue(Job(name: name, workDir: workDir, size: status.size, mtimeNs: status.mtimeNanoseconds, sha256: sha))
            logger.info("Queued a taken file that was not yet in the queue", metadata: ["job.id": "\(job.id ?? 0)", "file.name": "\(name)"])
        }
    }

    /// Whether the lease owner `owner` ("host:pid:start") is gone.
    static func isDead(owner: String) -> Bool {
        let parts = owner.split(separator: ":")
        guard parts.count == 3, let pid = Int32(parts[1]), let start = UInt64(parts[2]) else { return true }
        guard String(parts[0]) == ProcessInfo.processInfo.hostName else {
            // Another host's process cannot be checked; one database has one service.
            return true
        }
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
        guard fd >= 0 else { throw IngestError("\(path): cannot open the lock file: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw IngestError("\(path): another hearingai watch is using this database")
        }
        self.fd = fd
    }

    deinit { close(fd) }
}
