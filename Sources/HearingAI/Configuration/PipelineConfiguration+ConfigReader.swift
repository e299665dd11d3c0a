public import Configuration
import Foundation

extension PipelineConfiguration {
    /// Reads every key in ``keys`` (and the chosen engine's) from `config`.
    ///
    /// The executable assembles `config` once: flags first (an in-memory provider), then the
    /// environment (`HEARINGAI_` and the key in upper case), then the YAML file, then any
    /// command defaults. Keys not set anywhere take the defaults below; `environment` supplies
    /// the variables keys fall back to (``ConfigurationKey/environmentFallbacks``, such as
    /// `PYHEARINGAI_MEMORY_LIMIT` and `OPENAI_API_KEY`).
    ///
    /// | key | default | meaning |
    /// |---|---|---|
    /// | `chunk_size` | 30 | nominal chunk length in seconds |
    /// | `overlap` | 1 | seconds added on each side of a chunk boundary |
    /// | `max_workers` | 0 | chunks decoded at once; 0 for one per core |
    /// | `memory_limit` | 0 | MB; 0 for none (the cgroup's limit applies too) |
    /// | `start_time`, `end_time`, `sample_duration` | 0, end, all | the range transcribed |
    /// | `segment_pause` | 0.8 | a pause longer than this (seconds) starts a new segment |
    /// | `diarization` | true | label speakers |
    /// | `speakers` | 0 | the number of speakers when known; 0 to find it |
    /// | `min_speakers`, `max_speakers` | 1, 8 | bounds on the number found |
    /// | `speaker_per_channel` | false | each channel of a multichannel file is one speaker |
    /// | `channel_names` | none | the channels' speaker labels, in channel order |
    /// | `engine` | pocketsphinx | a name in `engines` |
    /// | `formats` | txt (the service: txt,json) | output formats, comma-separated |
    /// | `max_line_chars`, `max_lines` | 42, 2 | subtitle lines (SRT, WebVTT) |
    /// | `audio_stream` | 0 | which audio stream FFmpeg reads, from 0 |
    /// | `ffmpeg_stall_timeout` | 30 | seconds FFmpeg may produce nothing before it is killed |
    /// | `vocabulary` | none | a file of terms the engine should expect (``Vocabulary``) |
    ///
    /// The engine's own keys are its factory's ``EngineFactory/keys``.
    /// `defaultFormats` is what `formats` means when no source sets it (`transcribe` writes txt,
    /// the service txt and json).
    public init(
        config: ConfigReader, engines: EngineRegistry = .embedded, environment: [String: String] = [:],
        defaultFormats: [TranscriptFormat] = [.txt]
    ) throws {
        let keys = Keys.self
        func double(_ key: ConfigurationKey) throws -> Double? { try config.value(for: key, environment: environment)?.doubleValue }
        func int(_ key: ConfigurationKey) throws -> Int? { try config.value(for: key, environment: environment)?.intValue }

        chunking = ChunkPlan(
            chunkSize: try double(keys.chunkSize) ?? ChunkPlan.defaultChunkSize,
            overlap: try double(keys.overlap) ?? ChunkPlan.defaultOverlap)
        let workers = try int(keys.maxWorkers) ?? 0
        maxWorkers = workers > 0 ? workers : Self.defaultWorkers
        startTime = try double(keys.startTime) ?? 0
        endTime = try double(keys.endTime)
        sampleDuration = try double(keys.sampleDuration)
        segmentPause = try double(keys.segmentPause) ?? Segmenter.defaultPause
        let speakers = try int(keys.speakers) ?? 0
        diarization = DiarizationOptions(
            enabled: try config.value(for: keys.diarization, environment: environment).map { $0 == .bool(true) } ?? true,
            speakers: speakers > 0 ? speakers : nil,
            minSpeakers: try int(keys.minSpeakers) ?? 1,
            maxSpeakers: try int(keys.maxSpeakers) ?? 8,
            speakerPerChannel: try config.value(for: keys.speakerPerChannel, environment: environment) == .bool(true),
            channelNames: try config.strings(for: keys.channelNames) ?? [])
        formats =
            try config.value(for: keys.formats, environment: environment).map { try TranscriptFormat.parseList([$0.description]) }
            ?? defaultFormats
        memoryLimit = try int(keys.memoryLimit).map {
            ConfiguredMemoryLimit(megabytes: $0, source: .configuration(nil))
        }
        let lineCharacters = try int(keys.maxLineCharacters)
        let lines = try int(keys.maxLines)
        subtitles =
            lineCharacters == nil && lines == nil
            ? nil
            : SubtitleStyle(
                maxLineCharacters: lineCharacters ?? SubtitleStyle.broadcast.maxLineCharacters,
                maxLines: lines ?? SubtitleStyle.broadcast.maxLines)
        audioStream = try int(keys.audioStream).flatMap { $0 == 0 ? nil : $0 }
        ffmpegStallTimeout = try double(keys.ffmpegStallTimeout)

        let name = try config.value(for: keys.engine, environment: environment)?.description ?? PocketSphinxEngine.Factory.name
        let factory = try engines.factory(named: name)
        var selection = EngineSelection(name: name)
        for key in factory.keys {
            guard let value = try config.value(for: key, environment: environment) else { continue }
            if key.isSecret {
                selection.secrets[key.name] = value.description
            } else {
                selection.settings[key.name] = value
            }
        }
        selection.vocabulary = try config.value(for: keys.vocabulary, environment: environment).map {
            try Vocabulary.load(path: $0.description)
        }
        engine = selection
        try validate()
        // Settings the engine cannot work with are refused now, not at the first file.
        _ = try factory.makeEngine(selection)
    }

    /// The keys of the pipeline itself (an engine's are its factory's).
    public static let keys: [ConfigurationKey] = [
        Keys.chunkSize, Keys.overlap, Keys.maxWorkers, Keys.memoryLimit, Keys.startTime, Keys.endTime,
        Keys.sampleDuration, Keys.segmentPause, Keys.diarization, Keys.speakers, Keys.minSpeakers,
        Keys.maxSpeakers, Keys.speakerPerChannel, Keys.channelNames, Keys.engine, Keys.formats, Keys.maxLineCharacters, Keys.maxLines,
        Keys.audioStream,
        Keys.ffmpegStallTimeout, Keys.vocabulary,
    ]

    /// The pipeline's keys by name, for the code that maps flags onto them.
    public enum Keys {
        /// `chunk_size`.
        public static let chunkSize = ConfigurationKey(
            "chunk_size", .double, flag: "--chunk-size", default: "30",
            help: "Nominal chunk length in seconds (at least 2).")
        /// `overlap`.
        public static let overlap = ConfigurationKey(
            "overlap", .double, flag: "--overlap", default: "1",
            help: "Seconds of overlap on each side of a chunk boundary (at most a quarter of the chunk).")
        /// `max_workers`.
        public static let maxWorkers = ConfigurationKey(
            "max_workers", .int, flag: "--max-workers", default: "0",
            help: "Chunks decoded at once; 0 for the number of cores (the memory limit may allow fewer).")
        /// `memory_limit`.
        public static let memoryLimit = ConfigurationKey(
            "memory_limit", .int, flag: "--memory-limit", default: "0",
            help: "Memory limit in MB; 0 for none (the cgroup's limit applies too).",
            environmentFallbacks: ["PYHEARINGAI_MEMORY_LIMIT"])
        /// `start_time`.
        public static let startTime = ConfigurationKey(
            "start_time", .double, flag: "--start-time", default: "0", help: "Seconds into the file to start at.")
        /// `end_time`.
        public static let endTime = ConfigurationKey(
            "end_time", .double, flag: "--end-time", default: "the end", help: "Seconds into the file to stop at.")
        /// `sample_duration`.
        public static let sampleDuration = ConfigurationKey(
            "sample_duration", .double, flag: "--sample-duration", default: "all",
            help: "Transcribe only this many seconds (a quick sample).")
        /// `segment_pause`.
        public static let segmentPause = ConfigurationKey(
            "segment_pause", .double, default: "0.8", help: "A pause longer than this (seconds) between words starts a new segment.")
        /// `diarization`.
        public static let diarization = ConfigurationKey(
            "diarization", .bool, flag: "--no-diarization", default: "true", help: "Label speakers (the flag turns it off).")
        /// `speakers`.
        public static let speakers = ConfigurationKey(
            "speakers", .int, flag: "--speakers", default: "0", help: "The number of speakers, when known; 0 to find it.")
        /// `min_speakers`.
        public static let minSpeakers = ConfigurationKey(
            "min_speakers", .int, flag: "--min-speakers", default: "1", help: "At least this many speakers.")
        /// `max_speakers`.
        public static let maxSpeakers = ConfigurationKey(
            "max_speakers", .int, flag: "--max-speakers", default: "8", help: "At most this many speakers.")
        /// `speaker_per_channel`.
        public static let speakerPerChannel = ConfigurationKey(
            "speaker_per_channel", .bool, flag: "--speaker-per-channel", default: "false",
            help: "Each channel of a multichannel file is one speaker (a studio session with a microphone each).")
        /// `channel_names`.
        public static let channelNames = ConfigurationKey(
            "channel_names", .strings, flag: "--channel-names", default: "Speaker 1, Speaker 2, …",
            help: "With --speaker-per-channel: the channels' speaker labels in channel order, comma-separated.")
        /// `engine`.
        public static let engine = ConfigurationKey(
            "engine", .string, flag: "--engine", default: "pocketsphinx",
            help: "Transcription engine: pocketsphinx (embedded, offline) or openai (an OpenAI-compatible server).")
        /// `formats`.
        public static let formats = ConfigurationKey(
            "formats", .string, flag: "--formats", default: "txt",
            help: "Output formats, comma-separated: txt, json, srt, vtt, md.")
        /// `max_line_chars`.
        public static let maxLineCharacters = ConfigurationKey(
            "max_line_chars", .int, flag: "--max-line-chars", default: "42",
            help: "Subtitles (SRT, WebVTT): at most this many characters on a line.")
        /// `max_lines`.
        public static let maxLines = ConfigurationKey(
            "max_lines", .int, flag: "--max-lines", default: "2", help: "Subtitles (SRT, WebVTT): at most this many lines in a cue.")
        /// `audio_stream`.
        public static let audioStream = ConfigurationKey(
            "audio_stream", .int, flag: "--audio-stream", default: "0",
            help: "Which audio stream of a video or multi-track file to transcribe, counted from 0 (read through FFmpeg).")
        /// `vocabulary`.
        public static let vocabulary = ConfigurationKey(
            "vocabulary", .string, flag: "--vocabulary", default: "none",
            help: "A file of terms to expect (names, jargon), one a line, optionally 'term | PHONES'.")
        /// `ffmpeg_stall_timeout`.
        public static let ffmpegStallTimeout = ConfigurationKey(
            "ffmpeg_stall_timeout", .double, default: "30",
            help: "Seconds FFmpeg may go without producing audio before it is killed and the file fails.")
    }
}

extension ConfigReader {
    /// The value of `key` as its kind, from the providers, else from its environment fallbacks;
    /// nil when set nowhere. A value of the wrong kind is an error naming the key, not a
    /// silent default.
    public func value(for key: ConfigurationKey, environment: [String: String] = [:]) throws -> ConfigurationValue? {
        let name = ConfigKey(key.name)
        let found: ConfigurationValue?
        switch key.kind {
        case .string: found = string(forKey: name, isSecret: key.isSecret).map(ConfigurationValue.string)
        case .int:
            found =
                int(forKey: name).map(ConfigurationValue.int)
                ?? double(forKey: name).flatMap { Int(exactly: $0) }.map(ConfigurationValue.int)
        case .double: found = double(forKey: name).map(ConfigurationValue.double) ?? int(forKey: name).map { .double(Double($0)) }
        case .bool: found = bool(forKey: name).map(ConfigurationValue.bool)
        case .strings: found = try strings(for: key).map { .string($0.joined(separator: ",")) }
        }
        if let found { return found }
        if key.kind != .string, let text = string(forKey: name, isSecret: key.isSecret) {
            throw HearingAIError(.invalidOptions, reason: "\(key.name): expected \(key.kind.article), got '\(text)'")
        }
        for variable in key.environmentFallbacks {
            guard let text = environment[variable], !text.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            switch key.kind {
            case .string: return .string(text)
            case .int:
                guard let value = Int(trimmed) else {
                    throw HearingAIError(.invalidOptions, reason: "\(variable)=\(text) is not a whole number")
                }
                return .int(value)
            case .double:
                guard let value = Double(trimmed) else {
                    throw HearingAIError(.invalidOptions, reason: "\(variable)=\(text) is not a number")
                }
                return .double(value)
            case .bool:
                guard let value = Bool(trimmed) else {
                    throw HearingAIError(.invalidOptions, reason: "\(variable)=\(text) is not true or false")
                }
                return .bool(value)
            case .strings: return .string(text)
            }
        }
        return nil
    }
}

extension ConfigReader {
    /// The values of a list key (``ConfigurationKey/Kind/strings``): a repeated flag, a YAML
    /// list or a single YAML string, or an environment variable split at commas; empty entries
    /// dropped. Nil when set nowhere.
    public func strings(for key: ConfigurationKey) throws -> [String]? {
        let name = ConfigKey(key.name)
        let values =
            stringArray(forKey: name, isSecret: key.isSecret)
            ?? string(forKey: name, isSecret: key.isSecret).map { $0.split(separator: ",").map(String.init) }
        return values?.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

extension ConfigurationKey.Kind {
    fileprivate var article: String {
        switch self {
        case .string: "text"
        case .int: "a whole number"
        case .double: "a number"
        case .bool: "true or false"
        case .strings: "a list of text"
        }
    }
}
