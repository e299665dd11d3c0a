import ArgumentParser
import Configuration
import HearingAI
import HearingAIOpenAI

/// The flags that shape a transcript, shared by `transcribe` and `watch`: each sets one key of
/// ``PipelineConfiguration`` (or of an engine), and its help is the key's.
struct PipelineFlags: ParsableArguments {
    typealias Keys = PipelineConfiguration.Keys
    typealias PocketSphinxKeys = PocketSphinxEngine.Factory
    typealias OpenAIKeys = OpenAIEngine.Factory

    @Option(name: .key(Keys.chunkSize), help: .key(Keys.chunkSize)) var chunkSize: Double?
    @Option(name: .key(Keys.overlap), help: .key(Keys.overlap)) var overlap: Double?
    @Option(name: .key(Keys.maxWorkers), help: .key(Keys.maxWorkers)) var maxWorkers: Int?
    @Option(name: .key(Keys.memoryLimit), help: .key(Keys.memoryLimit)) var memoryLimit: Int?
    @Option(name: .key(Keys.speakers), help: .key(Keys.speakers)) var speakers: Int?
    @Option(name: .key(Keys.minSpeakers), help: .key(Keys.minSpeakers)) var minSpeakers: Int?
    @Option(name: .key(Keys.maxSpeakers), help: .key(Keys.maxSpeakers)) var maxSpeakers: Int?
    @Flag(name: .key(Keys.diarization), help: "Do not label speakers (key diarization: false).") var noDiarization = false
    @Flag(name: .key(Keys.speakerPerChannel), help: .key(Keys.speakerPerChannel)) var speakerPerChannel = false
    @Option(name: .key(Keys.channelNames), help: .key(Keys.channelNames)) var channelNames: String?
    @Option(name: .key(Keys.audioStream), help: .key(Keys.audioStream)) var audioStream: Int?
    @Option(name: .key(Keys.maxLineCharacters), help: .key(Keys.maxLineCharacters)) var maxLineChars: Int?
    @Option(name: .key(Keys.maxLines), help: .key(Keys.maxLines)) var maxLines: Int?
    @Option(name: .key(Keys.vocabulary), help: .key(Keys.vocabulary)) var vocabulary: String?

    @Option(name: .key(PocketSphinxKeys.modelDirectory), help: .key(PocketSphinxKeys.modelDirectory)) var modelDir: String?
    @Option(name: .key(PocketSphinxKeys.dictionary), help: .key(PocketSphinxKeys.dictionary)) var dictionary: String?
    @Option(name: .key(PocketSphinxKeys.languageModel), help: .key(PocketSphinxKeys.languageModel)) var languageModel: String?

    @Option(name: .key(Keys.engine), help: .key(Keys.engine)) var engine: String?
    @Option(name: .key(OpenAIKeys.baseURL), help: .key(OpenAIKeys.baseURL)) var baseURL: String?
    @Option(name: .key(OpenAIKeys.requestPath), help: .key(OpenAIKeys.requestPath)) var requestPath: String?
    @Option(name: .key(OpenAIKeys.model), help: .key(OpenAIKeys.model)) var model: String?
    @Option(name: .key(OpenAIKeys.language), help: .key(OpenAIKeys.language)) var language: String?
    @Option(name: .key(OpenAIKeys.prompt), help: .key(OpenAIKeys.prompt)) var prompt: String?
    @Option(name: .key(OpenAIKeys.contextChunks), help: .key(OpenAIKeys.contextChunks)) var contextChunks: Int?
    @Option(name: .key(OpenAIKeys.requestTimeout), help: .key(OpenAIKeys.requestTimeout)) var requestTimeout: Double?
    @Option(name: .key(OpenAIKeys.retries), help: .key(OpenAIKeys.retries)) var retries: Int?

    /// The flags given, by key.
    var values: [ConfigurationKey: ConfigContent] {
        var values: [ConfigurationKey: ConfigContent] = [:]
        values[Keys.chunkSize] = chunkSize.map { .double($0) }
        values[Keys.overlap] = overlap.map { .double($0) }
        values[Keys.maxWorkers] = maxWorkers.map { .int($0) }
        values[Keys.memoryLimit] = memoryLimit.map { .int($0) }
        values[Keys.speakers] = speakers.map { .int($0) }
        values[Keys.minSpeakers] = minSpeakers.map { .int($0) }
        values[Keys.maxSpeakers] = maxSpeakers.map { .int($0) }
        if noDiarization { values[Keys.diarization] = .bool(false) }
        if speakerPerChannel { values[Keys.speakerPerChannel] = .bool(true) }
        values[Keys.channelNames] = channelNames.map { .string($0) }
        values[Keys.audioStream] = audioStream.map { .int($0) }
        values[Keys.maxLineCharacters] = maxLineChars.map { .int($0) }
        values[Keys.maxLines] = maxLines.map { .int($0) }
        values[Keys.vocabulary] = vocabulary.map { .string($0) }
        values[PocketSphinxKeys.modelDirectory] = modelDir.map { .string($0) }
        values[PocketSphinxKeys.dictionary] = dictionary.map { .string($0) }
        values[PocketSphinxKeys.languageModel] = languageModel.map { .string($0) }
        values[Keys.engine] = engine.map { .string($0) }
        values[OpenAIKeys.baseURL] = baseURL.map { .string($0) }
        values[OpenAIKeys.requestPath] = requestPath.map { .string($0) }
        values[OpenAIKeys.model] = model.map { .string($0) }
        values[OpenAIKeys.language] = language.map { .string($0) }
        values[OpenAIKeys.prompt] = prompt.map { .string($0) }
        values[OpenAIKeys.contextChunks] = contextChunks.map { .int($0) }
        values[OpenAIKeys.requestTimeout] = requestTimeout.map { .double($0) }
        values[OpenAIKeys.retries] = retries.map { .int($0) }
        return values
    }

    /// Flags of one engine given while another is chosen are a mistake worth stopping for.
    func validate() throws {
        let chosen = engine ?? PocketSphinxEngine.Factory.name
        let given = Set(values.keys)
        for factory in engines.factories where factory.name != chosen {
            let misplaced = factory.keys.filter { given.contains($0) }.compactMap(\.flag)
            if !misplaced.isEmpty {
                throw ValidationError("\(misplaced.joined(separator: ", ")) apply to --engine \(factory.name)")
            }
        }
    }
}

extension NameSpecification {
    /// The long flag a configuration key declares.
    static func key(_ key: ConfigurationKey) -> NameSpecification {
        .customLong(key.flagName ?? key.name)
    }
}

extension ArgumentHelp {
    /// A configuration key's help, with its default.
    static func key(_ key: ConfigurationKey) -> ArgumentHelp {
        ArgumentHelp("\(key.help) (default: \(key.defaultValue))")
    }
}
