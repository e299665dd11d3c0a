import ArgumentParser
import HearingAI
import HearingAIOpenAI

/// Options shared by every command that runs the pipeline.
struct PipelineOptions: ParsableArguments {
    @Option(name: .customLong("chunk-size"), help: "Nominal chunk length in seconds.")
    var chunkSize: Double = ChunkPlan.defaultChunkSize

    @Option(help: "Seconds of overlap on each side of a chunk boundary.")
    var overlap: Double = ChunkPlan.defaultOverlap

    @Option(name: .customLong("max-workers"), help: "Chunks decoded at once (default: the number of cores).")
    var maxWorkers: Int = TranscriptionOptions.defaultWorkers

    @Option(name: .customLong("memory-limit"), help: "Memory limit in MB (0: none).")
    var memoryLimit: Int?

    @Option(name: .customLong("cache-dir"), help: "Where chunk checkpoints live (default: $XDG_CACHE_HOME/hearingai).")
    var cacheDir: String?

    @Option(name: .customLong("model-dir"), help: "PocketSphinx model directory, laid out like Debian's pocketsphinx-en-us.")
    var modelDir: String?

    @Option(help: "PocketSphinx pronunciation dictionary.")
    var dictionary: String?

    @Option(name: .customLong("language-model"), help: "PocketSphinx language model.")
    var languageModel: String?

    @Option(help: "The number of speakers, when known.")
    var speakers: Int?

    @Option(name: .customLong("min-speakers"), help: "At least this many speakers.")
    var minSpeakers: Int = 1

    @Option(name: .customLong("max-speakers"), help: "At most this many speakers.")
    var maxSpeakers: Int = 8

    @Flag(name: .customLong("no-diarization"), help: "Do not label speakers.")
    var noDiarization = false

    var diarization: DiarizationOptions {
        DiarizationOptions(enabled: !noDiarization, speakers: speakers, minSpeakers: minSpeakers, maxSpeakers: maxSpeakers)
    }

    @OptionGroup(title: "OpenAI-compatible engine")
    var engineOptions: EngineOptions

    func validate() throws {
        if engineOptions.engine != .openai, engineOptions.openAIFlagsGiven {
            throw ValidationError("--base-url, --request-path, --model, --language, --prompt, --request-timeout and --retries apply to --engine openai")
        }
    }

    /// The engine these options name: PocketSphinx with its model flags, or an
    /// OpenAI-compatible server.
    func makeEngine() throws -> any TranscriptionEngine {
        switch engineOptions.engine ?? .pocketsphinx {
        case .pocketsphinx:
            return PocketSphinxEngine(model: PocketSphinxModel(modelDirectory: modelDir, dictionary: dictionary, languageModel: languageModel))
        case .openai:
            let configuration = engineOptions.openAIConfiguration()
            try configuration.validate()
            return OpenAIEngine(configuration: configuration)
        }
    }

    /// The limit in force: this flag over the environment, then the lower of that and the
    /// cgroup's. `configuration` is the configuration file's value, where there is one.
    func resolvedMemoryLimit(configuration: (megabytes: Int, file: String?)? = nil) throws -> MemoryLimit? {
        try MemoryLimit.resolve(explicit: memoryLimit, explicitSource: .flag, configuration: configuration)
    }

    var chunkPlan: ChunkPlan {
        ChunkPlan(chunkSize: chunkSize, overlap: overlap)
    }
}
