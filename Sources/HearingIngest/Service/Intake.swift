import Foundation
import HearingAI
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Takes complete files from the inbox into the queue, and turns away what must not be read.
///
/// A name is a candidate unless it is hidden or has a temporary suffix. A candidate is taken
/// only once its size, modification and status-change times have stayed the same for the
/// settle time (for an empty file, the longer `empty_file_seconds`), so a writer that closes
/// and reopens its file, or creates it and writes later, is waited for. Then it is checked through a
/// descriptor opened with `O_NOFOLLOW | O_NONBLOCK` relative to the inbox: symlinks, FIFOs,
/// devices, sockets, directories, hard-linked files, empty files and files over the size cap
/// go to failed/ unread, with the reason beside them. A regular file is renamed into the work
/// area (atomic, same filesystem), hashed, and queued, and the processor's doorbell rung.
///
/// As a service it settles pending entries and rescans the inbox on its interval; the
/// watcher feeds it names as they change. It stops taking files on graceful shutdown.
///
/// It also keeps the inbox itself in view. When the directory at the inbox's path is no longer
/// the one it holds (the watcher reports the directory deleted, moved or unmounted, or a rescan
/// finds another device and inode at the path), it opens the one there now, watches it, moves
/// the jobs left in the old work area into the new one, and rescans. While nothing is at the
/// path it checks again with backoff, takes nothing, and reports the inbox missing to
/// ``ServiceHealth``, which reports the service not ready once that lasts longer than
/// `inbox_missing_seconds`.
actor Intake: Service {
    /// Suffixes of files still being written by common tools.
    static let temporarySuffixes = [".part", ".tmp", ".crdownload", ".filepart", "~", ".partial", ".download"]

    private struct Pending {
        var status: EntryStatus
        var since: ContinuousClock.Instant
    }

    private let directories: IngestDirectories
    private let queue: any JobQueue
    private let configuration: IngestConfiguration
    private let logger: Logger
    private let notifier: SystemdNotifier
    private let io: BlockingThread
    private var pending: [FileName: Pending] = [:]

    /// An entry that could not be taken (a move or read refused): reported once, then left
    /// alone until its back-off ends or it changes (a chmod changes its ctime).
    private struct Stuck {
        var status: EntryStatus
        var failures: Int
        var retryAt: ContinuousClock.Instant
        var reason: String
        var since: Date
    }
    private var stuck: [FileName: Stuck] = [:]
    /// 5 s, 10 s, 20 s, ... up to 5 minutes between tries of a stuck entry.
    static let stuckBackoff = Backoff(base: 5, factor: 2, cap: 300, jitter: 1...1)
    private let clock = ContinuousClock()
    /// Rung after a job is queued, and when the inbox is back.
    private let doorbell: Doorbell
    /// Where missing inboxes and entries that cannot be taken are reported.
    private let health: ServiceHealth
    /// The inotify watch, pointed at the new directory when the inbox is replaced (nil with
    /// `poll_only`).
    private let watcher: InotifyWatcher?

    /// Whether the inbox's path no longer leads to the directory held: nothing is taken until
    /// a directory is there again and opened.
    private var inboxLost = false
    /// Checks of a lost inbox so far (for their backoff), and when the next one is due.
    private var inboxChecks = 0
    private var nextInboxCheck: ContinuousClock.Instant?
    /// Whether "not ready" has been logged for the current loss.
    private var reportedNotReady = false
    /// 0.25 s, 0.5 s, 1 s, then every 2 s while the inbox is missing.
    static let inboxBackoff = Backoff(base: 0.25, factor: 2, cap: 2, jitter: 1...1)
    /// Whether this node takes files from the inbox: always on a queue of its own; on a shared
    /// queue only while it is the one node that lists the shared inbox (``InboxListing``).
    private(set) var listsInbox: Bool

    init(
        directories: IngestDirectories, queue: any JobQueue, configuration: IngestConfiguration, logger: Logger,
        notifier: SystemdNotifier, doorbell: Doorbell, health: ServiceHealth, watcher: InotifyWatcher?, listsInbox: Bool = true
    ) {
        self.listsInbox = listsInbox
        self.directories = directories
        self.queue = queue
        self.configuration = configuration
        self.logger = logger
        self.notifier = notifier
        self.doorbell = doorbell
        self.health = health
        self.watcher = watcher
        self.io = BlockingThread(name: "intake-io")
    }

    /// Settles pending entries and rescans the inbox every `rescan_seconds` until graceful
    /// shutdown; then tells systemd the service is stopping and ends the I/O thread.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastScan = self.clock.now
            while !Task.isCancelled {
                if let due = await self.nextInboxCheck, self.clock.now >= due {
                    await self.checkInbox(cause: "still missing")
                }
                await self.takeSettled()
                if self.clock.now - lastScan >= self.configuration.rescanInterval {
                    // Each rescan also checks that the path still leads to the directory
                    // held: a filesystem mounted over it gives no inotify event.
                    await self.checkInbox(cause: "rescan")
                    await self.rescan()
                    lastScan = self.clock.now
                }
                let wait = min(await self.nextSettle() ?? .milliseconds(250), .milliseconds(250))
                try? await Task.sleep(for: max(wait, .milliseconds(20)))
            }
        }
        notifier.stopping()
        io.shutdown()
    }

    /// Whether `name` may be input at all.
    static func isCandidate(_ name: FileName) -> Bool {
        !name.isHidden && !temporarySuffixes.contains(where: name.hasSuffix)
    }

    /// Starts or stops taking files (on a shared queue: this node became, or stopped being, the
    /// one that lists the inbox). Starting rescans at once; stopping forgets what was pending,
    /// so a file half-settled here is settled afresh by the next lister.
    func setListsInbox(_ lists: Bool) async {
        guard lists != listsInbox else { return }
        listsInbox = lists
        logger.info(lists ? "Listing the shared inbox: this node takes its files" : "No longer listing the shared inbox")
        if lists {
            do {
                try await queueTakenFiles()
            } catch {
                logger.error("Could not look for taken files left unqueued", metadata: ["error": "\(error)"])
            }
            await rescan()
        } else {
            pending.removeAll()
        }
    }

    /// Queues the files of the work area that were taken (renamed in) but never queued, by a
    /// process that died in between, and removes work directories made but never filled (their
    /// file is still in the inbox). Run by the node that takes files: at startup, or on a
    /// shared queue when it starts listing the inbox. A file another node queues meanwhile (a
    /// lister cut off mid-take) is queued once: the work directory is unique in the queue.
    func queueTakenFiles() async throws {
        for entry in try directories.work.names() {
            let workDir = entry.description
            guard try await queue.job(workDir: workDir) == nil else { continue }
            let jobDirectory = try directories.work.subdirectory(entry)
            guard jobDirectory.contains(IngestDirectories.sourceName),
                let nameData = FileManager.default.contents(atPath: "\(jobDirectory.path)/\(IngestDirectories.nameFile)"),
                let status = try jobDirectory.status(of: IngestDirectories.sourceName)
            else {
                // Made but never filled: the file is still in the inbox.
                jobDirectory.remove(IngestDirectories.nameFile, directory: false)
                directories.work.remove(entry, directory: true)
                continue
            }
            let sha = try await hash(path: directories.sourcePath(workDir: workDir))
            let name = FileName(bytes: Array(nameData))
            let job = try await queue.enqueue(
                Job(name: name, workDir: workDir, size: status.size, mtimeNs: status.mtimeNanoseconds, sha256: sha))
            ServiceMetrics.enqueued(source: "inbox")
            logger.info(
                "Queued a taken file that was not yet in the queue", metadata: ["job.id": "\(job.id ?? 0)", "file.name": "\(name)"])
            doorbell.ring()
        }
    }

    /// Looks at every entry of the inbox: the listing is the truth, events are hints. A
    /// listing that fails or comes back short only delays files: nothing is taken or moved
    /// because a name is missing from it.
    func rescan() async {
        guard !inboxLost, listsInbox else { return }
        do {
            let names = try directories.inbox.names()
            for name in names { await observe(name) }
            // Forget what vanished.
            let present = Set(names)
            pending = pending.filter { present.contains($0.key) }
            let stuckBefore = stuck.count
            stuck = stuck.filter { present.contains($0.key) }
            if stuck.count != stuckBefore { publishStuck() }
        } catch {
            logger.error("Inbox scan failed", metadata: ["error": "\(error)"])
        }
    }

    /// Notes that `name` may have changed, and takes what has settled.
    func observe(_ name: FileName) async {
        guard Self.isCandidate(name), !inboxLost, listsInbox else { return }
        guard let status = try? directories.inbox.status(of: name) else {
            pending[name] = nil
            return
        }
        if let known = pending[name], known.status == status { return }
        if let entry = stuck[name], entry.status == status, clock.now < entry.retryAt { return }
        pending[name] = Pending(status: status, since: clock.now)
    }

    /// Takes every pending entry that has been unchanged for the settle time.
    func takeSettled() async {
        guard listsInbox else { return }
        let now = clock.now
        for (name, entry) in pending where now - entry.since >= settleTime(for: entry.status) {
            pending[name] = nil
            do {
                guard let status = try directories.inbox.status(of: name) else { continue }
                if status != entry.status {
                    // Still being written: wait again.
                    pending[name] = Pending(status: status, since: now)
                    continue
                }
                try await take(name, status: status)
                if stuck.removeValue(forKey: name) != nil { publishStuck() }
            } catch {
                let failures = (stuck[name]?.failures ?? 0) + 1
                let delay = Self.stuckBackoff.delay(attempt: failures)
                stuck[name] = Stuck(
                    status: entry.status, failures: failures, retryAt: now + .milliseconds(Int64(delay * 1000)),
                    reason: "\(HearingAIError(error).reason)", since: stuck[name]?.since ?? Date())
                if failures == 1 {
                    publishStuck()
                    logger.error(
                        "Could not take inbox entry; retrying it with backoff, or as soon as it changes",
                        metadata: [
                            "file.name": "\(name)", "error": "\(error)",
                        ])
                } else {
                    logger.debug(
                        "Inbox entry still cannot be taken",
                        metadata: [
                            "file.name": "\(name)", "error": "\(error)", "retry.in_seconds": "\(Int(delay))",
                        ])
                }
            }
        }
    }

    /// Tells ``ServiceHealth`` which entries cannot be taken (for `hearingai status`).
    private func publishStuck() {
        health.setUnreadable(
            stuck.map { name, entry in
                ServiceHealth.UnreadableEntry(path: "\(directories.inboxPath)/\(name)", reason: entry.reason, since: entry.since)
            })
    }

    // MARK: - The inbox itself

    /// Checks that the inbox's path still leads to the directory held. If another directory
    /// is there, opens and watches it, moves the old work area's jobs into it and rescans; if
    /// none is, reports the inbox missing and checks again later, with backoff. `cause` says
    /// what prompted the check, for the log.
    func checkInbox(cause: String) async {
        let held = directories.inboxIdentity()
        let atPath = directories.inboxPathIdentity()
        if !inboxLost, let atPath, atPath == held { return }
        guard let atPath else {
            inboxMissing(cause: cause)
            return
        }
        if atPath == held {
            // The same directory is back at the path (moved away and back, say).
            try? watcher?.rewatch()
            inboxFound()
            logger.warning("Inbox directory is back; watching it again", metadata: ["inbox.path": "\(directories.inboxPath)"])
            await rescan()
            return
        }
        let old: (inbox: Directory, work: Directory)
        do {
            old = try directories.reopenInbox()
        } catch {
            logger.error(
                "Could not open the directory now at the inbox's path; trying again",
                metadata: ["inbox.path": "\(directories.inboxPath)", "error": "\(error)"])
            inboxMissing(cause: cause)
            return
        }
        do {
            try watcher?.rewatch()
        } catch {
            // Rescans still find files, every rescan_seconds.
            logger.error(
                "Could not watch the new inbox directory; relying on rescans",
                metadata: ["inbox.path": "\(directories.inboxPath)", "error": "\(error)"])
        }
        let jobs = moveJobs(from: old.work)
        let oldLocation = old.inbox.currentPath ?? "unknown"
        pending = [:]
        stuck = [:]
        publishStuck()
        inboxFound()
        logger.warning(
            "Inbox directory replaced; watching the new one",
            metadata: [
                "inbox.path": "\(directories.inboxPath)", "cause": "\(cause)", "inbox.old_location": "\(oldLocation)",
                "inbox.old_inode": "\(held?.description ?? "?")", "inbox.new_inode": "\(atPath)", "jobs.moved": "\(jobs)",
            ])
        await rescan()
        doorbell.ring()
    }

    /// Nothing (or no directory) is at the inbox's path: stop taking files, report it, and
    /// check again after the backoff.
    private func inboxMissing(cause: String) {
        if !inboxLost {
            inboxLost = true
            pending = [:]
            logger.error(
                "Inbox directory is gone; taking nothing until it is back",
                metadata: ["inbox.path": "\(directories.inboxPath)", "cause": "\(cause)"])
        }
        health.inboxMissing()
        if !health.isReady(), !reportedNotReady {
            reportedNotReady = true
            logger.error(
                "Inbox directory missing for longer than inbox_missing_seconds; the service reports itself not ready",
                metadata: ["inbox.path": "\(directories.inboxPath)", "inbox_missing_seconds": "\(configuration.inboxMissingTime.seconds)"])
        }
        inboxChecks += 1
        nextInboxCheck = clock.now + .milliseconds(Int64(Self.inboxBackoff.delay(attempt: inboxChecks) * 1000))
    }

    /// The inbox is watched again.
    private func inboxFound() {
        inboxLost = false
        inboxChecks = 0
        nextInboxCheck = nil
        reportedNotReady = false
        health.inboxBack()
    }

    /// Moves the jobs left in the work area of a replaced inbox into the new one, so that their
    /// sources are found: a rename on the same filesystem, a copy of each file across (a
    /// filesystem mounted over the inbox). Returns how many were moved; one that cannot be is
    /// logged with where it stays.
    private func moveJobs(from oldWork: Directory) -> Int {
        let newWork = directories.work
        guard let names = try? oldWork.names() else { return 0 }
        var moved = 0
        for name in names {
            do {
                do {
                    try oldWork.move(name, to: newWork, as: name)
                } catch let error as HearingAIError where error.errno == EXDEV {
                    let from = try oldWork.subdirectory(name)
                    let to = try newWork.makeSubdirectory(name)
                    for file in try from.names() { try from.move(file, to: to, as: file) }
                    oldWork.remove(name, directory: true)
                }
                moved += 1
            } catch {
                logger.error(
                    "Could not move a job from the old work area; its file stays there",
                    metadata: ["path": "\(oldWork.currentPath ?? oldWork.path)/\(name)", "error": "\(error)"])
            }
        }
        newWork.sync()
        return moved
    }

    /// The time until the next pending entry settles, if any.
    func nextSettle() -> Duration? {
        let now = clock.now
        return pending.values.map { settleTime(for: $0.status) - (now - $0.since) }.min().map { max(.zero, $0) }
    }

    /// How long an entry must stay unchanged before it is taken: `settle_seconds`, or for an
    /// empty regular file the longer `empty_file_seconds`. A writer often creates its file
    /// and only later writes into it; an empty file is refused only once nothing (size, mtime,
    /// ctime) has moved for that long.
    private func settleTime(for status: EntryStatus) -> Duration {
        status.kind == .regular && status.size == 0 ? max(configuration.settleTime, configuration.emptyFileTime) : configuration.settleTime
    }

    private func take(_ name: FileName, status: EntryStatus) async throws {
        if let refusal = refusal(for: status) {
            try reject(name, reason: refusal)
            return
        }
        // Check what is behind the name through a descriptor that cannot follow a link or
        // block on a FIFO, and make sure the entry did not change between stat and open.
        let inbox = directories.inbox
        let fd: Int32
        do {
            fd = try inbox.openForReading(name)
        } catch let error as HearingAIError where error.errno == ELOOP {
            try reject(name, reason: "a symbolic link (never followed)")
            return
        }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw HearingAIError.system("fstat", path: "\(inbox.path)/\(name)", errno: errno) }
        let opened = EntryStatus(st)
        guard opened.inode == status.inode, opened.device == status.device else {
            pending[name] = Pending(status: opened, since: clock.now)
            return
        }
        if let refusal = refusal(for: opened) {
            try reject(name, reason: refusal)
            return
        }

        // Into the work area: first the original name, then the file, so a crash in between
        // leaves something the startup recovery can queue.
        let workDir = Self.newWorkDirName()
        let jobDirectory = try directories.work.makeSubdirectory(FileName(workDir))
        do {
            try jobDirectory.writeAtomically(Data(name.bytes), as: IngestDirectories.nameFile, replace: false)
            try inbox.move(name, to: jobDirectory, as: IngestDirectories.sourceName)
        } catch {
            // Not taken (the move was refused): leave no empty job directory behind.
            jobDirectory.remove(IngestDirectories.nameFile, directory: false)
            directories.work.remove(FileName(workDir), directory: true)
            if (error as? HearingAIError)?.errno == ENOENT {
                // Gone between open and rename: another node sharing the inbox took it first.
                logger.debug("Inbox entry taken by another node", metadata: ["file.name": "\(name)"])
                return
            }
            throw error
        }

        let sha = try await hash(fd)
        let job = try await queue.enqueue(
            Job(name: name, workDir: workDir, size: opened.size, mtimeNs: opened.mtimeNanoseconds, sha256: sha))
        ServiceMetrics.enqueued(source: "inbox")
        logger.info(
            "File queued",
            metadata: [
                "job.id": "\(job.id ?? 0)", "file.name": "\(name)", "file.size": "\(opened.size)", "file.sha256": "\(sha)",
            ])
        doorbell.ring()
    }

    private func refusal(for status: EntryStatus) -> String? {
        switch status.kind {
        case .regular:
            if status.linkCount > 1 { return "a hard-linked file (\(status.linkCount) links): not taken, another name can change it" }
            if status.size == 0 { return "an empty file" }
            if status.size > configuration.maxFileBytes {
                return "larger than the size cap (\(Self.megabytes(status.size)) MB > \(Self.megabytes(configuration.maxFileBytes)) MB)"
            }
            return nil
        case .symlink: return "a symbolic link (never followed)"
        case .directory: return "a directory"
        case .fifo: return "a FIFO"
        case .characterDevice, .blockDevice: return "a device"
        case .socket: return "a socket"
        case .unknown: return "not a regular file"
        }
    }

    /// Moves a refused entry to failed/ (the entry itself: a link is moved, not followed)
    /// with `NAME.error.json` beside it.
    private func reject(_ name: FileName, reason: String) throws {
        let finalName = try directories.inbox.moveKeepingName(name, to: directories.failed, companion: Self.errorFileName)
        try Self.writeErrorFile(in: directories.failed, for: finalName, original: name, reason: reason, attempts: 0, jobID: nil)
        logger.warning("Inbox entry refused", metadata: ["file.name": "\(name)", "reason": "\(reason)"])
    }

    /// The suffix of the error file beside a failed source.
    static let errorSuffix = ".error.json"

    /// `NAME.error.json`, with NAME shortened if the whole would not fit in NAME_MAX.
    static func errorFileName(for name: FileName) -> FileName {
        name.truncated(to: FileName.maximumLength - errorSuffix.utf8.count).appending(errorSuffix)
    }

    /// Writes `NAME.error.json` (reason, attempts, job, time) for `finalName` in `directory`,
    /// never replacing a file: the caller chose `finalName` so that this name is free.
    static func writeErrorFile(
        in directory: Directory, for finalName: FileName, original: FileName, reason: String, attempts: Int, jobID: Int64?
    ) throws {
        struct ErrorFile: Encodable {
            var file: String
            var storedAs: String
            var reason: String
            var attempts: Int
            var job: Int64?
            var time: String

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(file, forKey: .file)
                try container.encode(storedAs, forKey: .storedAs)
                try container.encode(reason, forKey: .reason)
                try container.encode(attempts, forKey: .attempts)
                try container.encode(job, forKey: .job)  // null for entries refused before queueing
                try container.encode(time, forKey: .time)
            }
            enum CodingKeys: String, CodingKey {
                case file, reason, attempts, job, time
                case storedAs = "stored_as"
            }
        }
        let body = ErrorFile(
            file: original.description, storedAs: finalName.description, reason: reason, attempts: attempts, job: jobID,
            time: ISO8601DateFormatter().string(from: Date()))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try directory.writeAtomically(try encoder.encode(body) + Data("\n".utf8), as: errorFileName(for: finalName), replace: false)
    }

    /// SHA-256 of the file behind `fd`, read on the intake's I/O thread.
    private func hash(_ fd: Int32) async throws -> String {
        try await io.run {
            var sha = SHA256()
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var offset: off_t = 0
            while true {
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw HearingAIError.system("read", path: "fd \(fd)", errno: errno)
                }
                if n == 0 { break }
                buffer.withUnsafeBytes { sha.update(UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
                offset += off_t(n)
            }
            return sha.finalizeHex()
        }
    }

    /// Hashes a file by path (startup recovery).
    func hash(path: String) async throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw HearingAIError.system("open", path: path, errno: errno) }
        defer { Glibc.close(fd) }
        return try await hash(fd)
    }

    static func megabytes(_ bytes: Int64) -> String {
        String(format: "%.1f", Double(bytes) / 1_048_576)
    }

    /// A work directory name that sorts by time and does not collide.
    static func newWorkDirName() -> String {
        let millis = UInt64(Date().timeIntervalSince1970 * 1000)
        return String(format: "%013llu-%08x", millis, UInt32.random(in: 0...UInt32.max))
    }
}
