/// The names of the metrics HearingAI records, in Prometheus's naming: `hearingai_` first,
/// the unit in the name (`_seconds`, `_bytes`), `_total` on counters.
///
/// The libraries record through swift-metrics only (`Counter`, `Timer`, `Gauge`, `Recorder`),
/// creating each handle where it records, so that what is recorded reaches whatever backend
/// the executable bootstraps (Prometheus, for `hearingai watch`), and nothing when it
/// bootstraps none (`hearingai transcribe`).
///
/// | name | kind | labels | meaning |
/// |---|---|---|---|
/// | `hearingai_jobs_enqueued_total` | counter | `source` (`inbox`) | jobs added to the queue |
/// | `hearingai_jobs_finished_total` | counter | `outcome` (`done`, `failed`) | jobs that ended |
/// | `hearingai_job_retries_total` | counter | | attempts that failed and were put back to retry |
/// | `hearingai_queue_jobs` | gauge | `state` | jobs in each state, sampled |
/// | `hearingai_queue_wait_seconds` | histogram | | from due to claimed |
/// | `hearingai_chunk_duration_seconds` | histogram | | one chunk's decode |
/// | `hearingai_audio_processed_seconds_total` | counter | | audio transcribed by finished jobs |
/// | `hearingai_engine_requests_total` | counter | `code` | the OpenAI-compatible engine's HTTP responses |
/// | `hearingai_memory_limit_bytes` | gauge | | the limit in force; 0 for none |
/// | `hearingai_resident_memory_bytes` | gauge | | this process's resident set, sampled |
/// | `hearingai_last_success_timestamp_seconds` | gauge | | Unix time of the last job done |
/// | `hearingai_build_info` | gauge | `version` | always 1 |
/// | `hearingai_webhook_deliveries_total` | counter | `outcome` (`delivered`, `retry`, `gave_up`) | webhook attempts |
public enum MetricName {
    /// `hearingai_jobs_enqueued_total{source}`.
    public static let jobsEnqueued = "hearingai_jobs_enqueued_total"
    /// `hearingai_jobs_finished_total{outcome}`.
    public static let jobsFinished = "hearingai_jobs_finished_total"
    /// `hearingai_job_retries_total`.
    public static let jobRetries = "hearingai_job_retries_total"
    /// `hearingai_leases_lost_total`.
    public static let leasesLost = "hearingai_leases_lost_total"
    /// `hearingai_queue_jobs{state}`.
    public static let queueJobs = "hearingai_queue_jobs"
    /// `hearingai_queue_wait_seconds` (histogram).
    public static let queueWait = "hearingai_queue_wait_seconds"
    /// `hearingai_chunk_duration_seconds` (histogram).
    public static let chunkDuration = "hearingai_chunk_duration_seconds"
    /// `hearingai_audio_processed_seconds_total`.
    public static let audioProcessed = "hearingai_audio_processed_seconds_total"
    /// `hearingai_engine_requests_total{code}`.
    public static let engineRequests = "hearingai_engine_requests_total"
    /// `hearingai_memory_limit_bytes`.
    public static let memoryLimit = "hearingai_memory_limit_bytes"
    /// `hearingai_resident_memory_bytes`.
    public static let residentMemory = "hearingai_resident_memory_bytes"
    /// `hearingai_last_success_timestamp_seconds`.
    public static let lastSuccess = "hearingai_last_success_timestamp_seconds"
    /// `hearingai_build_info{version}`.
    public static let buildInfo = "hearingai_build_info"
    /// `hearingai_webhook_deliveries_total{outcome}`.
    public static let webhookDeliveries = "hearingai_webhook_deliveries_total"
}
