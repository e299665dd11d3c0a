import HearingAI
import Logging

/// Where one file's time went in the service, phase by phase (claim, result lookup, decode,
/// result store, render, stem, output writes with their fsyncs, done, move, cleanup): the
/// per-file path's fixed costs, logged at debug level as "File timings".
struct FileTimings {
    private(set) var phases: [(name: String, duration: Duration)] = []
    /// The engine's load time within the decode phase.
    var engineLoad = 0.0

    /// Records `phase` as having run from `started` until now.
    mutating func record(_ phase: String, since started: ContinuousClock.Instant) {
        phases.append((phase, started.duration(to: .now)))
    }

    /// Runs `body` and records its time as `phase`.
    mutating func measure<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let started = ContinuousClock.now
        defer { record(phase, since: started) }
        return try body()
    }

    /// Runs `body` and records its time as `phase`.
    mutating func measure<T>(_ phase: String, _ body: () async throws -> T) async rethrows -> T {
        let started = ContinuousClock.now
        defer { record(phase, since: started) }
        return try await body()
    }

    /// `time.PHASE_ms` for each phase, and the job's id.
    func metadata(job: Job) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["job.id": "\(job.id ?? 0)", "time.engine_load_ms": "\(String(format: "%.1f", engineLoad * 1000))"]
        for phase in phases {
            metadata["time.\(phase.name)_ms"] = "\(String(format: "%.1f", phase.duration.seconds * 1000))"
        }
        return metadata
    }
}
