import CoreMetrics
import HearingAI
import Prometheus

/// The service's metrics in Prometheus's text format: what `GET /metrics` answers.
///
/// The libraries record through swift-metrics only (names in ``HearingAI/MetricName``); this
/// type is their Prometheus backend. The first exposition made bootstraps swift-metrics with a
/// `PrometheusMetricsFactory` over one `PrometheusCollectorRegistry` for the process (later
/// ones share it), so make it before the service starts: what is recorded before the
/// bootstrap is not kept. The counters are kept whether or not anything serves them.
///
/// ```swift
/// MetricsExposition.bootstrap(version: HearingAIVersion.current)   // before the service records
/// let metrics = MetricsExposition(refresh: { await ingest.sampleMetrics() })
/// // in the /metrics route:
/// let text = await metrics.render()   // Content-Type: MetricsExposition.contentType
/// ```
public struct MetricsExposition: Sendable {
    /// The text format's media type, for the response's `Content-Type`.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Called before each render: samples the gauges that are read rather than recorded
    /// (jobs by state, resident memory).
    let refresh: @Sendable () async -> Void

    /// An exposition of the process's registry (bootstrapping swift-metrics with it on first
    /// use); `refresh` runs before each render.
    public init(refresh: @escaping @Sendable () async -> Void = {}) {
        _ = Self.registry
        self.refresh = refresh
    }

    /// Bootstraps swift-metrics with the process's registry (once; later calls only record)
    /// and records `hearingai_build_info{version}` as 1. Call it before the service starts.
    public static func bootstrap(version: String) {
        _ = registry
        Gauge(label: MetricName.buildInfo, dimensions: [("version", version)]).record(1)
    }

    /// Every metric, in the Prometheus text exposition format (version 0.0.4), with the
    /// sampled gauges refreshed first.
    public func render() async -> String {
        await refresh()
        return Self.registry.emitToString()
    }

    /// The process's registry; swift-metrics is bootstrapped with it once, on first use.
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            // From a file that is claimed at once to one that waited behind long recordings.
            MetricName.queueWait: [
                .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(15), .seconds(30), .seconds(60),
                .seconds(300), .seconds(900), .seconds(1800), .seconds(3600), .seconds(14400),
            ],
            // A 30-second chunk decodes in a few seconds on one core; a remote engine can take longer.
            MetricName.chunkDuration: [
                .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(20),
                .seconds(30), .seconds(60), .seconds(120), .seconds(300),
            ],
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()
}
