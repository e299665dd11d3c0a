public import Configuration
public import HearingAI
public import HearingAIOpenAI
import Foundation

/// Everything `hearingai watch` needs, read from configuration keys.
///
/// The executable assembles the providers — flags, then environment (`HEARINGAI_` + the key
/// in upper case), then the YAML file, then these defaults. Keys:
///
/// | key | default | meaning |
/// |---|---|---|
/// | `inbox` | `./hearingai/inbox` | where files are dropped |
/// | `outbox` | `./hearingai/outbox` | where transcripts appear |
/// | `processed` | `./hearingai/processed` | where sources go once transcribed |
/// | `failed` | `./hearingai/failed` | where sources that failed go, with `NAME.error.json` |
/// | `database` | `./hearingai/queue.sqlite` | the SQLite queue |
/// | `formats` | `txt,json` | output formats |
/// | `memory_limit` | 0 | MB, 0 for none (the lower of this and the cgroup's is in force) |
/// | `chunk_size` | 30 | seconds |
/// | `overlap` | 1 | seconds |
/// | `max_workers` | 0 | chunks at once; 0 for the number of cores |
/// | `diarization` | true | label speakers |
/// | `speakers` | 0 | the number of speakers when known; 0 to find it |
/// | `min_speakers`, `max_speakers` | 1, 8 | bounds on the number found |
/// | `cache_dir` | (none) | unused by the service: checkpoints live in the database |
/// | `settle_seconds` | 2 | a file must keep its size and mtime this long before it is taken |
/// | `rescan_seconds` | 30 | full inbox rescans, for filesystems that give no events |
/// | `poll_only` | false | no inotify: rely on rescans alone (network filesystems; the benchmark's baseline) |
/// | `max_file_mb` | 20480 | files larger than this go to failed/ unread |
/// | `max_attempts` | 3 | claims before a file is quarantined in failed/ |
/// | `engine` | pocketsphinx | `pocketsphinx` (embedded) or `openai` (an OpenAI-compatible server) |
/// | `openai_base_url` | `$OPENAI_BASE_URL` or https://api.openai.com/v1 | the server's API base URL |
/// | `openai_request_path` | /audio/transcriptions | appended to the base URL |
/// | `openai_model` | whisper-1 | the model name on the server |
/// | `openai_language`, `openai_prompt` | (none) | sent with every chunk |
/// | `openai_api_key` | `$OPENAI_API_KEY` | the bearer token (a secret: never logged) |
/// | `openai_request_timeout` | 120 | seconds one request may take |
/// | `openai_retries` | 4 | retries after 429, 5xx, timeouts, broken connections |
public struct IngestConfiguration: Sendable {
    /// Where files are dropped.
    public var inbox: String
    /// Where transcripts appear.
    public var outbox: String
    /// Where sources go once transcribed.
    public var processed: String
    /// Where sources that failed go.
    public var failed: String
    /// The SQLite queue.
    public var database: String
    /// Output formats.
    public var formats: [TranscriptFormat]
    /// The memory limit in MB from configuration (0: none), before the cgroup is considered.
    public var memoryLimitMB: Int
    /// Chunking and workers.
    public var options: TranscriptionOptions
    /// How long a file must stay unchanged before it is taken.
    public var settleTime: Duration
    /// How often the whole inbox is rescanned.
    public var rescanInterval: Duration
    /// Whether to rely on rescans alone, without inotify.
    public var pollOnly: Bool
    /// Files larger than this are refused unread.
    public var maxFileBytes: Int64
    /// Claims before a file is quarantined.
    public var maxAttempts: Int
    /// The engine that transcribes.
    public var engine: Engine

    /// The engine the service runs.
    public enum Engine: Sendable, Hashable {
        /// PocketSphinx, embedded: no network.
        case pocketsphinx
        /// An OpenAI-compatible server.
        case openai(OpenAIEngine.Configuration)

        /// A new engine of this kind.
        public func make() -> any TranscriptionEngine {
            switch self {
            case .pocketsphinx: PocketSphinxEngine()
            case .openai(let configuration): OpenAIEngine(configuration: configuration)
            }
        }
    }

    /// Reads every key from `config`; see the table above.
    ///
    /// `environment` (this process's when nil) supplies `OPENAI_API_KEY` and `OPENAI_BASE_URL`
    /// when the keys are unset.
    public init(config: ConfigReader, defaultRoot: String = "./hearingai", environment: [String: String]? = nil) throws {
        let environment = environment ?? ProcessInfo.processInfo.environment
        inbox = config.string(forKey: "inbox", default: defaultRoot + "/inbox")
        outbox = config.string(forKey: "outbox", default: defaultRoot + "/outbox")
        processed = config.string(forKey: "processed", default: defaultRoot + "/processed")
        failed = config.string(forKey: "failed", default: defaultRoot + "/failed")
        database = config.string(forKey: "database", default: defaultRoot + "/queue.sqlite")
        formats = try TranscriptFormat.parseList([config.string(forKey: "formats", default: "txt,json")])
        guard !formats.isEmpty else { throw HearingAIError(.invalidOptions, reason: "formats: at least one output format is needed") }
        memoryLimitMB = config.int(forKey: "memory_limit", default: 0)
        let workers = config.int(forKey: "max_workers", default: 0)
        options = TranscriptionOptions(
            chunking: ChunkPlan(chunkSize: config.double(forKey: "chunk_size", default: ChunkPlan.defaultChunkSize),
                               overlap: config.double(forKey: "overlap", default: ChunkPlan.defaultOverlap)),
            maxWorkers: workers > 0 ? workers : TranscriptionOptions.defaultWorkers,
            diarization: DiarizationOptions(
                enabled: config.bool(forKey: "diarization", default: true),
                speakers: config.int(forKey: "speakers", default: 0) > 0 ? config.int(forKey: "speakers", default: 0) : nil,
                minSpeakers: config.int(forKey: "min_speakers", default: 1),
                maxSpeakers: config.int(forKey: "max_speakers", default: 8)))
        try options.validate()
        settleTime = .milliseconds(Int64(config.double(forKey: "settle_seconds", default: 2) * 1000))
        rescanInterval = .milliseconds(Int64(max(0.1, config.double(forKey: "rescan_seconds", default: 30)) * 1000))
        pollOnly = config.bool(forKey: "poll_only", default: false)
        maxFileBytes = Int64(config.int(forKey: "max_file_mb", default: 20_480)) * 1_048_576
        maxAttempts = max(1, config.int(forKey: "max_attempts", default: 3))
        engine = try Self.engine(config: config, environment: environment)
    }

    private static func engine(config: ConfigReader, environment: [String: String]) throws -> Engine {
        let name = config.string(forKey: "engine", default: "pocketsphinx")
        switch name {
        case "pocketsphinx":
            return .pocketsphinx
        case "openai":
            func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
            var openAI = OpenAIEngine.Configuration()
            openAI.baseURL = nonEmpty(config.string(forKey: "openai_base_url")) ?? nonEmpty(environment["OPENAI_BASE_URL"]) ?? openAI.baseURL
            openAI.requestPath = config.string(forKey: "openai_request_path", default: openAI.requestPath)
            openAI.model = config.string(forKey: "openai_model", default: openAI.model)
            openAI.language = nonEmpty(config.string(forKey: "openai_language"))
            openAI.prompt = nonEmpty(config.string(forKey: "openai_prompt"))
            openAI.apiKey = nonEmpty(config.string(forKey: "openai_api_key", isSecret: true)) ?? nonEmpty(environment["OPENAI_API_KEY"])
            openAI.requestTimeout = .milliseconds(Int64(config.double(forKey: "openai_request_timeout", default: 120) * 1000))
            openAI.maxRetries = config.int(forKey: "openai_retries", default: openAI.maxRetries)
            try openAI.validate()
            return .openai(openAI)
        default:
            throw HearingAIError(.invalidOptions, reason: "engine: \(name) is not an engine (pocketsphinx or openai)")
        }
    }
}
