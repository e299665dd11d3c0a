public import Foundation
import HearingAI
import Synchronization

/// How the service is doing, in one place: whether its inbox is there, which inbox entries it
/// cannot take, what it is doing, and from these whether it is ready.
///
/// The intake and the processor report to it; it tells systemd (`STATUS=`), decides whether
/// the watchdog is fed (``isReady(now:)``), and publishes a ``Snapshot`` beside the database
/// (`DATABASE.health.json`) that `hearingai status` reads. A readiness endpoint reads
/// ``isReady(now:)`` and ``snapshot()``.
///
/// Not ready means the inbox path has been missing (or not a directory) for longer than
/// `inbox_missing_seconds`: files dropped where the inbox should be go nowhere.
public final class ServiceHealth: Sendable {
    /// An inbox entry the intake cannot take (its move or read is refused).
    public struct UnreadableEntry: Codable, Sendable, Equatable {
        /// The entry's path.
        public var path: String
        /// Why it cannot be taken (the failed system call and its error).
        public var reason: String
        /// When it was first refused.
        public var since: Date
    }

    /// The state as other processes see it (`hearingai status`), with the owner that wrote it.
    public struct Snapshot: Codable, Sendable, Equatable {
        /// The service process (`host:pid:start`), to tell a live snapshot from a stale one.
        public var owner: String
        /// The inbox's path.
        public var inbox: String
        /// Since when the inbox path has been missing, if it is.
        public var inboxMissingSince: Date?
        /// Whether the service is ready (written when it changes).
        public var ready: Bool
        /// Entries that cannot be taken, by path.
        public var unreadable: [UnreadableEntry]
        /// When the snapshot was written.
        public var updated: Date

        /// Whether the process that wrote it is still running (on this machine: the snapshot
        /// is a local file).
        public var isLive: Bool { !IngestService.processIsGone(owner: owner) }

        /// Reads the snapshot at `path` (``QueueBackend/healthSnapshotPath(_:)``), if there is
        /// one that decodes.
        public static func read(path: String) -> Snapshot? {
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try? decoder.decode(Snapshot.self, from: data)
        }
    }

    private struct State {
        var inboxMissingSince: Date?
        var unreadable: [UnreadableEntry] = []
        var activity: String
        var lastStatus = ""
        /// The snapshot last published, to publish only what changed (readiness changes with
        /// time alone, so this compares with what was published, not with the state before).
        var published: Snapshot?
    }

    /// The inbox path.
    public let inbox: String
    /// How long the inbox may be missing before the service is not ready.
    public let missingBound: Duration
    private let owner: String
    private let snapshotPath: String?
    private let notifier: SystemdNotifier
    private let state: Mutex<State>

    /// `DATABASE.health.json`.
    public static func snapshotPath(database: String) -> String { database + ".health.json" }

    /// Health for the service watching `inbox`, told to `notifier` and published at
    /// `snapshotPath` (none if nil).
    public init(inbox: String, missingBound: Duration, owner: String, snapshotPath: String?, notifier: SystemdNotifier) {
        self.inbox = inbox
        self.missingBound = missingBound
        self.owner = owner
        self.snapshotPath = snapshotPath
        self.notifier = notifier
        state = Mutex(State(activity: "watching \(inbox)"))
    }

    /// Whether the service is ready: its inbox is there, or has been missing for no longer
    /// than `inbox_missing_seconds`.
    public func isReady(now: Date = Date()) -> Bool {
        state.withLock { Self.ready($0, bound: missingBound, now: now) }
    }

    /// Whether the inbox path leads to the directory being watched (false while it is missing
    /// or being re-opened): the work area is inside it, so no job is started meanwhile.
    public var inboxAvailable: Bool { state.withLock { $0.inboxMissingSince == nil } }

    /// The current state, as ``Snapshot`` publishes it.
    public func snapshot(now: Date = Date()) -> Snapshot {
        state.withLock { makeSnapshot($0, now: now) }
    }

    /// What the service is doing, for `STATUS=` ("transcribing NAME", "watching DIR").
    public func setActivity(_ activity: String) {
        update { $0.activity = activity }
    }

    /// The inbox path is missing (or not a directory): from the first report on, the time
    /// counts towards `inbox_missing_seconds`. Call it again on each check while it stays
    /// missing, so that crossing the bound is told.
    func inboxMissing(now: Date = Date()) {
        update(now: now) { state in
            if state.inboxMissingSince == nil { state.inboxMissingSince = now }
        }
    }

    /// The inbox is watched again.
    func inboxBack() {
        update { $0.inboxMissingSince = nil }
    }

    /// The entries that cannot be taken, replacing the previous list.
    func setUnreadable(_ entries: [UnreadableEntry]) {
        update { $0.unreadable = entries.sorted { $0.path < $1.path } }
    }

    private static func ready(_ state: State, bound: Duration, now: Date) -> Bool {
        guard let since = state.inboxMissingSince else { return true }
        return now.timeIntervalSince(since) <= bound.seconds
    }

    private func makeSnapshot(_ state: State, now: Date) -> Snapshot {
        Snapshot(
            owner: owner, inbox: inbox, inboxMissingSince: state.inboxMissingSince,
            ready: Self.ready(state, bound: missingBound, now: now), unreadable: state.unreadable, updated: now)
    }

    /// The `STATUS=` line: what is wrong first, then what the service is doing. It changes only
    /// when something changes (no running count of seconds), so it is sent only then.
    private func statusLine(_ state: State, now: Date) -> String {
        guard let since = state.inboxMissingSince else { return state.activity }
        let time = ISO8601DateFormatter().string(from: since)
        if Self.ready(state, bound: missingBound, now: now) {
            return "inbox \(inbox) missing since \(time); waiting for it to return; \(state.activity)"
        }
        return "not ready: inbox \(inbox) missing since \(time), longer than inbox_missing_seconds; \(state.activity)"
    }

    /// Applies `change`, then tells systemd if the status line changed and publishes the
    /// snapshot if anything in it changed.
    private func update(now: Date = Date(), _ change: (inout State) -> Void) {
        let (status, snapshot) = state.withLock { state -> (String?, Snapshot?) in
            change(&state)
            let after = makeSnapshot(state, now: now)
            var published = state.published
            published?.updated = now
            let line = statusLine(state, now: now)
            let statusChanged = line != state.lastStatus
            state.lastStatus = line
            guard published != after else { return (statusChanged ? line : nil, nil) }
            // Nothing to say until something is wrong: a healthy service writes no file.
            if state.published == nil, after.inboxMissingSince == nil, after.unreadable.isEmpty { return (statusChanged ? line : nil, nil) }
            state.published = after
            return (statusChanged ? line : nil, after)
        }
        if let status { notifier.status(status) }
        if let snapshot { publish(snapshot) }
    }

    /// Writes the snapshot atomically (a temporary file renamed); a failure only costs
    /// `hearingai status` its view.
    private func publish(_ snapshot: Snapshot) {
        guard let snapshotPath else { return }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(snapshot) else { return }
        try? data.write(to: URL(fileURLWithPath: snapshotPath), options: .atomic)
    }
}
