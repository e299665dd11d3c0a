public import Foundation

/// Everything that shapes a transcription run: chunking, the time range, workers, the memory
/// limit, the engine and its settings, diarization, segmentation and output formats.
///
/// It is the one source of truth for these options. The executable reads it once from flags,
/// `HEARINGAI_*` environment variables and the YAML file through
/// ``init(config:engines:environment:)``; `transcribe` and `watch` map their flags onto the same
/// keys (``keys``). It is `Codable`, so an interrupted run stores it and resumes with it, and
/// its ``fingerprint`` names the results it produces.
public struct PipelineConfiguration: Sendable, Hashable, Codable {
    /// How the audio is cut into chunks.
    public var chunking: ChunkPlan
    /// At most this many chunks decode at once (and this many decoders exist).
    public var maxWorkers: Int
    /// Seconds into the file to start at.
    public var startTime: Double
    /// Seconds into the file to stop at, if not the end.
    public var endTime: Double?
    /// Transcribe only this many seconds from `startTime` (a quick sample of a long file).
    public var sampleDuration: Double?
    /// A pause longer than this (seconds) between words starts a new segment.
    public var segmentPause: Double
    /// Speaker labelling.
    public var diarization: DiarizationOptions
    /// The engine and its settings.
    public var engine: EngineSelection
    /// The formats written.
    public var formats: [TranscriptFormat]
    /// How SRT and WebVTT cues are laid out; nil for ``SubtitleStyle/broadcast``.
    public var subtitles: SubtitleStyle?
    /// The memory limit configured (0 MB: none), and where it was set; nil when no source set
    /// one. The cgroup's limit applies on top: see ``resolvedMemoryLimit(cgroup:)``.
    public var memoryLimit: ConfiguredMemoryLimit?
    /// Which audio stream of a file FFmpeg reads, counted from 0 among the audio streams; nil
    /// for the first.
    public var audioStream: Int?
    /// Seconds FFmpeg may go without producing audio before it is killed; nil for
    /// ``defaultFFmpegStallTimeout``.
    public var ffmpegStallTimeout: Double?

    /// How long FFmpeg may go without producing audio when nothing else is configured.
    public static let defaultFFmpegStallTimeout = 30.0

    /// A configuration; the defaults are 30 s chunks, 1 s overlap, one worker per core,
    /// diarization on, PocketSphinx, txt.
    public init(
        chunking: ChunkPlan = ChunkPlan(),
        maxWorkers: Int = PipelineConfiguration.defaultWorkers,
        startTime: Double = 0,
        endTime: Double? = nil,
        sampleDuration: Double? = nil,
        segmentPause: Double = Segmenter.defaultPause,
        diarization: DiarizationOptions = DiarizationOptions(),
        engine: EngineSelection = .pocketsphinx,
        formats: [TranscriptFormat] = [.txt],
        memoryLimit: ConfiguredMemoryLimit? = nil,
        audioStream: Int? = nil,
        ffmpegStallTimeout: Double? = nil,
        subtitles: SubtitleStyle? = nil
    ) {
        self.chunking = chunking
        self.maxWorkers = maxWorkers
        self.startTime = startTime
        self.endTime = endTime
        self.sampleDuration = sampleDuration
        self.segmentPause = segmentPause
        self.diarization = diarization
        self.engine = engine
        self.formats = formats
        self.memoryLimit = memoryLimit
        self.audioStream = audioStream
        self.ffmpegStallTimeout = ffmpegStallTimeout
        self.subtitles = subtitles
    }

    /// How SRT and WebVTT cues are laid out.
    public var subtitleStyle: SubtitleStyle { subtitles ?? .broadcast }

    /// The number of cores this process may use.
    public static var defaultWorkers: Int { max(1, SystemInfo.activeProcessorCount) }

    /// Where reading stops, combining `endTime` and `sampleDuration`.
    public var effectiveEndTime: Double? {
        let fromSample = sampleDuration.map { startTime + $0 }
        switch (endTime, fromSample) {
        case let (end?, sample?): return min(end, sample)
        case let (end?, nil): return end
        case let (nil, sample?): return sample
        case (nil, nil): return nil
        }
    }

    /// Throws unless the options make sense.
    public func validate() throws {
        try chunking.validate()
        try diarization.validate()
        guard maxWorkers >= 1 else {
            throw HearingAIError(.invalidOptions, reason: "--max-workers must be at least 1 (got \(maxWorkers))")
        }
        guard startTime.isFinite, startTime >= 0 else {
            throw HearingAIError(.invalidOptions, reason: "--start-time must be 0 or more (got \(startTime))")
        }
        if let endTime, !(endTime.isFinite && endTime > startTime) {
            throw HearingAIError(.invalidOptions, reason: "--end-time must be after --start-time (got \(endTime))")
        }
        if let sampleDuration, !(sampleDuration.isFinite && sampleDuration > 0) {
            throw HearingAIError(.invalidOptions, reason: "--sample-duration must be positive (got \(sampleDuration))")
        }
        guard segmentPause.isFinite, segmentPause > 0 else {
            throw HearingAIError(.invalidOptions, reason: "segment_pause must be positive (got \(segmentPause))")
        }
        guard !formats.isEmpty else {
            throw HearingAIError(.invalidOptions, reason: "formats: at least one output format is needed")
        }
        if let audioStream, audioStream < 0 {
            throw HearingAIError(.invalidOptions, reason: "--audio-stream must be 0 or more (got \(audioStream))")
        }
        if let ffmpegStallTimeout, !(ffmpegStallTimeout.isFinite && ffmpegStallTimeout > 0) {
            throw HearingAIError(.invalidOptions, reason: "ffmpeg_stall_timeout must be positive (got \(ffmpegStallTimeout))")
        }
        try subtitles?.validate()
        if let memoryLimit, memoryLimit.megabytes < 0 {
            throw HearingAIError(
                .invalidOptions,
                reason: "memory limit from \(memoryLimit.source) must be 0 (none) or a positive number of MB, got \(memoryLimit.megabytes)")
        }
    }

    /// The limit in force under this configuration: its own, then the lower of that and the
    /// cgroup's `memory.max`.
    public func resolvedMemoryLimit(cgroup: CgroupMemory = CgroupMemory()) throws -> MemoryLimit? {
        try MemoryLimit.resolve(
            explicit: memoryLimit?.megabytes, explicitSource: memoryLimit?.source ?? .flag, environment: [:], cgroup: cgroup)
    }

    // MARK: - Fingerprint

    /// Bumped whenever the pipeline's code changes what a configuration produces (a new
    /// diarizer, a different decoder setting), so that stored results and checkpoints made by
    /// the older code are not reused. 3: chunks start from the decoder's whole initial
    /// cepstral-mean state. 4: the OpenAI-compatible engine prompts chunks with the text before
    /// them, by default.
    public static let pipelineVersion = 4

    /// This configuration reduced to what shapes a transcript: everything but the workers (one
    /// and several give identical transcripts), the memory limit, the output formats (all
    /// rendered from the same transcript), the subtitle layout (the same) and FFmpeg's stall timeout (it decides whether a run
    /// fails, not what it produces). The first audio stream is spelt one way (nil), so that
    /// naming it does not change the fingerprint. A field added later shapes output unless it
    /// is listed here.
    public var outputShaping: PipelineConfiguration {
        var shaping = self
        shaping.maxWorkers = 0
        shaping.memoryLimit = nil
        shaping.formats = []
        shaping.subtitles = nil
        shaping.ffmpegStallTimeout = nil
        if shaping.audioStream == 0 { shaping.audioStream = nil }
        return shaping
    }

    /// A name for what this configuration produces: the SHA-256 of the pipeline version and
    /// the canonical encoding (sorted keys) of ``outputShaping``. Two runs over the same audio
    /// with the same fingerprint give the same transcript; checkpoints and stored results are
    /// keyed by it.
    public var fingerprint: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Only a non-finite number fails to encode, and `validate()` refuses those; the
        // description is still a stable name for such a configuration.
        let body = (try? encoder.encode(outputShaping)) ?? Data(String(describing: outputShaping).utf8)
        return SHA256.hex(of: Data("hearingai-pipeline-\(Self.pipelineVersion)\n".utf8) + body)
    }
}

/// The memory limit a configuration sets: megabytes (0 for none) and the source that set it.
public struct ConfiguredMemoryLimit: Sendable, Hashable, Codable {
    /// Megabytes; 0 means no limit at this level (the cgroup's still applies).
    public var megabytes: Int
    /// Where it was set.
    public var source: MemoryLimit.Source

    /// A configured limit.
    public init(megabytes: Int, source: MemoryLimit.Source) {
        self.megabytes = megabytes
        self.source = source
    }
}
