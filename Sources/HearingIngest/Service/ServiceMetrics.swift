import CoreMetrics
import Foundation
import HearingAI
import Logging
import ServiceLifecycle

/// What the service records through swift-metrics (names in ``HearingAI/MetricName``): the
/// events where they happen, and the gauges that are sampled (jobs by state, resident memory).
///
/// Handles are made where they record, never cached, so what is recorded reaches the backend
/// the executable bootstrapped whenever it did; a process with none records nothing.
enum ServiceMetrics {
    /// A job added to the queue, from `source` (`inbox`; the API adds `api`).
    static func enqueued(source: String) {
        Counter(label: MetricName.jobsEnqueued, dimensions: [("source", source)]).increment()
    }

    /// A job that ended, as `done` or `failed`.
    static func finished(_ outcome: Job.State) {
        Counter(label: MetricName.jobsFinished, dimensions: [("outcome", outcome.rawValue)]).increment()
    }

    /// A job done: its audio, and the time of the last success.
    static func succeeded(audioSeconds: Double, now: Date = Date()) {
        finished(.done)
        FloatingPointCounter(label: MetricName.audioProcessed).increment(by: max(0, audioSeconds))
        Gauge(label: MetricName.lastSuccess).record(now.timeIntervalSince1970)
    }

    /// An attempt that failed and was put back to retry.
    static func retried() {
        Counter(label: MetricName.jobRetries).increment()
    }

    /// A job given up because its lease was no longer this node's.
    static func leaseLost() {
        Counter(label: MetricName.leasesLost).increment()
    }

    /// How long `job` waited from when it was due (queued, or its retry's time) to its claim.
    static func claimed(_ job: Job, now: Date = Date()) {
        let due = max(job.createdAt, job.notBefore)
        let waited = max(0, now.timeIntervalSince(due))
        CoreMetrics.Timer(label: MetricName.queueWait).recordNanoseconds(Int64(waited * 1e9))
    }

    /// The memory limit in force (0 for none).
    static func memoryLimit(_ limit: MemoryLimit?) {
        Gauge(label: MetricName.memoryLimit).record(limit?.bytes ?? 0)
    }

    /// A webhook attempt's outcome: `delivered`, `retry` or `gave_up`.
    static func webhookAttempt(_ outcome: String) {
        Counter(label: MetricName.webhookDeliveries, dimensions: [("outcome", outcome)]).increment()
    }

    /// Samples the gauges that are read rather than recorded: jobs in each state, and this
    /// process's resident memory.
    static func sample(queue: any JobQueue) async {
        Gauge(label: MetricName.residentMemory).record(SystemInfo.residentBytes())
        guard let counts = try? await queue.counts() else { return }
        for state in Job.State.allCases {
            Gauge(label: MetricName.queueJobs, dimensions: [("state", state.rawValue)]).record(counts[state] ?? 0)
        }
    }
}

/// Samples the service's gauges (``ServiceMetrics/sample(queue:)``) every `interval`, so they
/// are current between scrapes too; a scrape samples them again before it renders.
struct MetricsSampler: Service {
    let queue: any JobQueue
    let interval: Duration

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await ServiceMetrics.sample(queue: queue)
                try? await Task.sleep(for: interval)
            }
        }
    }
}
