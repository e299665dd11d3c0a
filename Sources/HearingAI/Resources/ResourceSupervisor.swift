import Foundation
import Synchronization

/// Samples the resident memory of the process and its FFmpeg children, and the process's CPU,
/// from /proc on an interval and, when memory
/// crosses a high-water mark (85% of the limit by default), calls its callbacks in order —
/// cleanup first, then throttling — until usage is back under the mark.
///
/// Run it as a child task beside the work it watches; it stops when cancelled.
public final class ResourceSupervisor: Sendable {
    /// One reading.
    public struct Sample: Sendable, Hashable {
        /// Seconds since the supervisor started.
        public var time: Double
        /// Resident set size in bytes: the process's and its FFmpeg children's.
        public var residentBytes: Int
        /// CPU use since the previous sample, in percent of one core.
        public var cpuPercent: Double
    }

    /// A response to high memory use, in the order registered.
    public typealias Callback = @Sendable (Sample) async -> Void

    /// The limit watched, or nil to sample only.
    public let limit: MemoryLimit?
    /// Fraction of the limit at which callbacks run.
    public let highWater: Double
    /// Time between samples.
    public let interval: Duration

    private struct State {
        var callbacks: [Callback] = []
        var samples: [Sample] = []
        var peak = 0
        var interventions = 0
    }
    private let state = Mutex(State())
    private let keepSamples: Bool

    /// A supervisor for `limit`. With `keepSamples`, every sample is kept for a memory trace.
    public init(limit: MemoryLimit?, highWater: Double = 0.85, interval: Duration = .milliseconds(200), keepSamples: Bool = false) {
        self.limit = limit
        self.highWater = highWater
        self.interval = interval
        self.keepSamples = keepSamples
    }

    /// Adds a callback for high usage; callbacks run in the order they were added.
    public func onHighUsage(_ callback: @escaping Callback) {
        state.withLock { $0.callbacks.append(callback) }
    }

    /// The highest resident size sampled.
    public var peakResidentBytes: Int { state.withLock { $0.peak } }

    /// The samples kept (with `keepSamples`).
    public var samples: [Sample] { state.withLock { $0.samples } }

    /// How many times usage crossed the mark and callbacks ran.
    public var interventions: Int { state.withLock { $0.interventions } }

    /// Samples until cancelled.
    public func run() async {
        let clock = ContinuousClock()
        let started = clock.now
        var cpu = CPUTime.read()
        var cpuAt = started
        while !Task.isCancelled {
            let now = clock.now
            let nextCPU = CPUTime.read()
            let wall = (now - cpuAt).seconds
            let percent = wall > 0 ? (nextCPU - cpu) / wall * 100 : 0
            (cpu, cpuAt) = (nextCPU, now)
            let sample = Sample(time: (now - started).seconds, residentBytes: SystemInfo.processTreeResidentBytes(), cpuPercent: percent)
            record(sample)
            if let limit, Double(sample.residentBytes) >= Double(limit.bytes) * highWater {
                await respond(to: sample, limit: limit)
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Runs the callbacks in order, re-sampling after each, until usage is under the mark.
    private func respond(to sample: Sample, limit: MemoryLimit) async {
        let callbacks = state.withLock { state in
            state.interventions += 1
            return state.callbacks
        }
        var current = sample
        for callback in callbacks {
            await callback(current)
            current.residentBytes = SystemInfo.processTreeResidentBytes()
            record(current)
            if Double(current.residentBytes) < Double(limit.bytes) * highWater { return }
        }
    }

    private func record(_ sample: Sample) {
        state.withLock { state in
            state.peak = max(state.peak, sample.residentBytes)
            if keepSamples { state.samples.append(sample) }
        }
    }
}

/// The process's CPU time (user + system) in seconds, from /proc/self/stat.
enum CPUTime {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func read() -> Double {
        // utime and stime are fields 14 and 15.
        guard let stat = ProcFS.stat(),
            let user = stat[14].flatMap({ Double($0) }),
            let system = stat[15].flatMap({ Double($0) })
        else { return 0 }
        return (user + system) / ticksPerSecond
    }
}
