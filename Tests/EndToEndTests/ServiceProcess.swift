import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A step of a service test that did not happen in time, with the service's log tail.
struct ServiceTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `hearingai watch` as a child process on its own temporary directories: the real binary,
/// real inotify, real SQLite, real files.
///
/// Each start is a "run" with its own stderr and stdout files (`run1.stderr`, ...), so a test
/// can tell what the first run logged from what the restarted one did, and its own notify
/// socket (`run1.notify`), on which `start()` waits for `READY=1` as systemd would. Every
/// method that waits has a deadline; `cleanup()` (call it from `defer`) kills a child still
/// running, by its pid, reaps it, and removes the directories.
final class ServiceProcess {
    let root: URL
    let inbox: URL
    let outbox: URL
    let processed: URL
    let failed: URL
    let database: URL
    /// Where tests prepare files before renaming them in: outside the inbox, same filesystem.
    let stage: URL
    /// `inbox/.hearingai-work`.
    var work: URL { inbox.appendingPathComponent(".hearingai-work") }

    /// Arguments after the directory flags, for every run.
    var watchArguments: [String]
    /// Environment added to the child's (HEARINGAI_* variables of the test process are dropped).
    /// A `NOTIFY_SOCKET` here is the test's own socket: the run's notify socket forwards every
    /// message to it.
    var environment: [String: String]

    private var process: Process?
    /// The notify socket of the current run; it lives until the next run or `cleanup()`, so
    /// messages sent while stopping are still collected and forwarded.
    private var notifications: NotifyRelay?
    private(set) var runCount = 0

    init(_ watchArguments: [String] = [], settleSeconds: Double = 0.3, environment: [String: String] = [:]) throws {
        root = try temporaryDirectory(prefix: "hearingai-e2e")
        inbox = root.appendingPathComponent("inbox")
        outbox = root.appendingPathComponent("outbox")
        processed = root.appendingPathComponent("processed")
        failed = root.appendingPathComponent("failed")
        database = root.appendingPathComponent("state/queue.sqlite")
        stage = root.appendingPathComponent("stage")
        try FileManager.default.createDirectory(at: stage, withIntermediateDirectories: true)
        self.watchArguments = ["--settle-seconds", String(settleSeconds)] + watchArguments
        self.environment = environment
    }

    deinit {
        stopIfRunning()
        notifications?.stop()
    }

    // MARK: - The child

    /// `--inbox ... --database ...`, for `watch`, `status` and `jobs`.
    var directoryArguments: [String] {
        [
            "--inbox", inbox.path, "--outbox", outbox.path, "--processed", processed.path,
            "--failed", failed.path, "--database", database.path,
        ]
    }

    static func childEnvironment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HEARINGAI_") }
        env.merge(extra) { $1 }
        return env
    }

    func stderrURL(run: Int) -> URL { root.appendingPathComponent("run\(run).stderr") }
    func stdoutURL(run: Int) -> URL { root.appendingPathComponent("run\(run).stdout") }
    func notifySocketURL(run: Int) -> URL { root.appendingPathComponent("run\(run).notify") }

    /// The messages the current run has sent to its notify socket, in order.
    var notifyMessages: [String] { notifications?.messages ?? [] }

    /// Starts a run of `hearingai watch` (arguments replaced by `arguments` if given) and, unless
    /// told not to, waits until it sends `READY=1` to its notify socket.
    func start(arguments: [String]? = nil, waitUntilReady: Bool = true, timeout: Double = 30) throws {
        if let process, process.isRunning { throw ServiceTestError("start: the previous run is still running") }
        runCount += 1
        let errURL = stderrURL(run: runCount)
        let outURL = stdoutURL(run: runCount)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        let err = try FileHandle(forWritingTo: errURL)
        let out = try FileHandle(forWritingTo: outURL)
        defer {
            try? err.close()
            try? out.close()
        }
        notifications?.stop()
        let relay = try NotifyRelay(
            path: notifySocketURL(run: runCount).path,
            forwardingTo: environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 })
        notifications = relay
        let child = Process()
        child.executableURL = URL(fileURLWithPath: BinaryRunner.binary)
        child.arguments = arguments ?? (["watch"] + directoryArguments + watchArguments)
        child.environment = Self.childEnvironment(environment.merging(["NOTIFY_SOCKET": relay.path]) { $1 })
        child.standardInput = FileHandle.nullDevice
        child.standardError = err
        child.standardOutput = out
        try child.run()
        process = child
        if waitUntilReady {
            try waitUntil("READY=1 on the notify socket", timeout: timeout) { relay.messages.contains("READY=1") }
        }
    }

    var pid: Int32? { process?.processIdentifier }
    var isRunning: Bool { process?.isRunning ?? false }
    var terminationStatus: Int32? { process.flatMap { $0.isRunning ? nil : $0.terminationStatus } }
    var terminationReason: Process.TerminationReason? { process.flatMap { $0.isRunning ? nil : $0.terminationReason } }

    /// Sends SIGTERM (or `signal`) and waits up to `timeout` seconds for the exit. Returns the
    /// exit status and how long it took. If the child outlives the deadline it is killed and this
    /// throws.
    @discardableResult
    func terminate(signal: Int32 = SIGTERM, timeout: Double = 20) throws -> (
        status: Int32, reason: Process.TerminationReason, seconds: Double
    ) {
        guard let process, process.isRunning else { throw ServiceTestError("terminate: not running") }
        let started = Date()
        kill(process.processIdentifier, signal)
        let deadline = started.addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        let seconds = Date().timeIntervalSince(started)
        if process.isRunning {
            stopIfRunning()
            throw ServiceTestError("SIGTERM: still running after \(timeout) s; killed\n\(logTail())")
        }
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason, seconds)
    }

    /// SIGKILL, then reaps the child and waits until its /proc entry is gone, so that a restart
    /// sees its lease owner dead.
    func kill9() throws {
        guard let process, process.isRunning else { throw ServiceTestError("kill -9: not running") }
        let pid = process.processIdentifier
        kill(pid, SIGKILL)
        process.waitUntilExit()
        let deadline = Date().addingTimeInterval(10)
        while FileManager.default.fileExists(atPath: "/proc/\(pid)") && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Waits until the child exits by itself (`timeout` seconds).
    func waitForExit(timeout: Double) throws -> Int32 {
        guard let process else { throw ServiceTestError("waitForExit: never started") }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            stopIfRunning()
            throw ServiceTestError("still running after \(timeout) s; killed\n\(logTail())")
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    private func stopIfRunning() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Kills a child still running (by pid) and removes every directory of the test.
    func cleanup() {
        stopIfRunning()
        notifications?.stop()
        // Restore permissions a test may have taken away, so removal cannot fail.
        _ = chmod(root.path, 0o755)
        try? FileManager.default.removeItem(at: root)
    }

    // MARK: - Logs

    /// The stderr of run `run` (the current one by default).
    func log(run: Int? = nil) -> String {
        let data = (try? Data(contentsOf: stderrURL(run: run ?? runCount))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    func stdout(run: Int? = nil) -> String {
        let data = (try? Data(contentsOf: stdoutURL(run: run ?? runCount))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Every run's stderr, in order.
    var allLogs: String { (1...max(1, runCount)).map { log(run: $0) }.joined() }

    /// Lines of run `run` (every run if nil) containing all of `needles`.
    func lines(containing needles: String..., run: Int? = nil) -> [Substring] {
        let text = run.map { log(run: $0) } ?? allLogs
        return text.split(separator: "\n").filter { line in needles.allSatisfy { line.contains($0) } }
    }

    func logTail(_ count: Int = 40) -> String {
        "--- stderr of run \(runCount) (last \(count) lines) ---\n" + log().split(separator: "\n").suffix(count).joined(separator: "\n")
    }

    /// Polls `condition` every 50 ms until it holds; throws with the log tail after `timeout`
    /// seconds, or at once if the child exited while `requireRunning`.
    func waitUntil(
        _ what: @autoclosure () -> String, timeout: Double = 30, requireRunning: Bool = true,
        _ condition: () throws -> Bool
    ) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if try condition() { return }
            if requireRunning, let process, !process.isRunning {
                throw ServiceTestError("the service exited (status \(process.terminationStatus)) while waiting for \(what())\n\(logTail())")
            }
            if Date() >= deadline {
                throw ServiceTestError("timed out after \(timeout) s waiting for \(what())\n\(logTail())")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Waits until the current run has logged `count` lines containing all of `needles`.
    func waitForLog(_ needles: String..., count: Int = 1, timeout: Double = 30) throws {
        try waitUntil("\(count)× log line with \(needles)", timeout: timeout) {
            log().split(separator: "\n").filter { line in needles.allSatisfy { line.contains($0) } }.count >= count
        }
    }

    // MARK: - The CLI on the same queue

    /// Runs `hearingai ARGS --inbox ... --database ...` and waits for it.
    func cli(_ arguments: [String]) throws -> ProcessResult {
        try BinaryRunner.run(arguments + directoryArguments, environment: environment)
    }

    /// `hearingai status`'s counts: queued, running, done, failed.
    func status() throws -> [String: Int] {
        let result = try cli(["status"])
        guard result.status == 0, let first = result.stdout.split(separator: "\n").first else {
            throw ServiceTestError("status failed (\(result.status)): \(result.stderr)")
        }
        var counts: [String: Int] = [:]
        for pair in first.components(separatedBy: "  ") {
            let parts = pair.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, let n = Int(parts[1]) { counts[parts[0]] = n }
        }
        return counts
    }

    /// `hearingai jobs show ID` as key → value.
    func job(_ id: Int) throws -> [String: String] {
        let result = try cli(["jobs", "show", "\(id)"])
        guard result.status == 0 else { throw ServiceTestError("jobs show \(id) failed (\(result.status)): \(result.stderr)") }
        var fields: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// The chunks done that the queue has recorded for job `id` (`jobs show`'s progress).
    func recordedChunks(job id: Int) throws -> Int? {
        let progress = try job(id)["progress"] ?? ""
        guard let range = progress.range(of: #"^chunks \d+"#, options: .regularExpression) else { return nil }
        return Int(progress[range].dropFirst("chunks ".count))
    }

    /// Waits until the queue has recorded at least `chunks` chunks done for job `id`: a kill
    /// after that is a kill after progress.
    func waitForRecordedChunks(job id: Int, atLeast chunks: Int, timeout: Double = 60) throws {
        try waitUntil("job \(id) recorded with \(chunks) chunks done", timeout: timeout) { try recordedChunks(job: id) ?? 0 >= chunks }
    }

    /// `hearingai jobs list` rows, each by its header's column names: ID, STATE, TRIES, NODE,
    /// UPDATED, FILE. `database` names another queue than this service's (a shared one).
    func jobsList(state: String? = nil, database: String? = nil) throws -> [[String: String]] {
        let arguments = ["jobs", "list", "--limit", "1000"] + (state.map { ["--state", $0] } ?? [])
        let result = try database.map { try BinaryRunner.run(arguments + ["--database", $0]) } ?? cli(arguments)
        guard result.status == 0 else { throw ServiceTestError("jobs list failed (\(result.status)): \(result.stderr)") }
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: true)
        let header = ["ID", "STATE", "TRIES", "NODE", "UPDATED", "FILE"]
        guard lines.first == header.joined(separator: "\t")[...] else { throw ServiceTestError("jobs list header: \(result.stdout)") }
        return lines.dropFirst().map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Dictionary(uniqueKeysWithValues: zip(header, fields))
        }
    }

    // MARK: - Files, byte-exact

    /// Writes `data` to `directory/name` in place (open, write, close), like `cp` does.
    static func writeInPlace(_ data: Data, to directory: URL, name: [UInt8], append: Bool = false) throws {
        let path = rawPath(directory, name)
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC)
        let fd = path.withUnsafeBufferPointer { open($0.baseAddress!, flags, 0o644) }
        guard fd >= 0 else { throw ServiceTestError("open \(directory.path)/\(name): errno \(errno)") }
        defer { close(fd) }
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ServiceTestError("write \(directory.path): errno \(errno)")
                }
                offset += n
            }
        }
    }

    /// Writes `data` under `name` in `stage` and then renames it into the inbox.
    func dropByRename(_ data: Data, name: [UInt8]) throws {
        try Self.writeInPlace(data, to: stage, name: name)
        try Self.rename(from: stage, name, to: inbox, name)
    }

    func dropByRename(_ data: Data, name: String) throws { try dropByRename(data, name: Array(name.utf8)) }

    /// Writes `data` in place in the inbox.
    func dropInPlace(_ data: Data, name: String) throws {
        try Self.writeInPlace(data, to: inbox, name: Array(name.utf8))
    }

    /// `cp SOURCE INBOX/NAME` with the real cp.
    func cp(_ source: String, as name: String) throws {
        let result = try runProcess("/bin/cp", [source, inbox.appendingPathComponent(name).path])
        guard result.status == 0 else { throw ServiceTestError("cp failed: \(result.status)") }
    }

    static func rename(from: URL, _ fromName: [UInt8], to: URL, _ toName: [UInt8]) throws {
        let a = rawPath(from, fromName)
        let b = rawPath(to, toName)
        let result = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in Glibc.rename(pa.baseAddress!, pb.baseAddress!) } }
        guard result == 0 else { throw ServiceTestError("rename into \(to.path): errno \(errno)") }
    }

    /// `directory/name` as a NUL-terminated byte path.
    static func rawPath(_ directory: URL, _ name: [UInt8]) -> [CChar] {
        (Array(directory.path.utf8) + [UInt8(ascii: "/")] + name + [0]).map { CChar(bitPattern: $0) }
    }

    /// The entries of `directory` as raw bytes (`.` and `..` excluded); empty if it is missing.
    static func rawNames(_ directory: URL) -> Set<[UInt8]> {
        guard let stream = opendir(directory.path) else { return [] }
        defer { closedir(stream) }
        var names: Set<[UInt8]> = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            if name == [46] || name == [46, 46] { continue }
            names.insert(name)
        }
        return names
    }

    /// The entries of `directory`, sorted, as (lossy) strings.
    static func names(_ directory: URL) -> [String] {
        rawNames(directory).map { String(decoding: $0, as: UTF8.self) }.sorted()
    }

    /// The contents of `directory/name`, byte path.
    static func contents(_ directory: URL, _ name: [UInt8]) -> Data? {
        let path = rawPath(directory, name)
        let fd = path.withUnsafeBufferPointer { open($0.baseAddress!, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return data
    }

    /// `lstat` of `directory/name`.
    static func lstatus(_ directory: URL, _ name: String) -> stat? {
        var st = stat()
        return lstat(directory.appendingPathComponent(name).path, &st) == 0 ? st : nil
    }

    /// The parsed `NAME.error.json` in failed/.
    func errorFile(for name: String) throws -> [String: Any] {
        let url = failed.appendingPathComponent(name + ".error.json")
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw ServiceTestError("\(url.path): not a JSON object")
        }
        return object
    }
}

/// Reference transcripts from `hearingai transcribe` (the same defaults as the service).
enum Reference {
    /// The txt transcript of `fixture` made by `hearingai transcribe`, computed once.
    static func transcript(_ fixture: String, extra: [String] = []) throws -> String {
        let dir = try temporaryDirectory(prefix: "hearingai-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("ref.txt")
        let result = try BinaryRunner.run(["transcribe", TestPaths.fixture(fixture), "-f", "txt", "-o", out.path] + extra)
        guard result.status == 0 else { throw ServiceTestError("reference transcription failed: \(result.stderr)") }
        return try String(contentsOf: out, encoding: .utf8)
    }

    /// `speech/short.wav`'s transcript, computed on first use.
    static let short: String = {
        (try? transcript("speech/short.wav")) ?? "<reference transcription failed>"
    }()
}
