/// A recognised word with its times on the file's clock.
public struct Word: Sendable, Hashable, Codable {
    /// The word as the engine spelled it (pronunciation variants removed; sentence-cased when
    /// the engine writes only lower case: see ``Segmenter/segments(of:)``).
    public var text: String
    /// Start, in seconds from the start of the file.
    public var start: Double
    /// End, in seconds from the start of the file.
    public var end: Double
    /// The engine's posterior confidence, 0...1.
    public var confidence: Double
    /// The speaker label, when diarization assigned one.
    public var speaker: String?
    /// True when the engine gave no time for this word and `start`/`end` were estimated by
    /// spreading its segment's words over the segment's time; nil when the engine timed it.
    public var timeEstimated: Bool?

    /// Creates a word.
    public init(text: String, start: Double, end: Double, confidence: Double, speaker: String? = nil, timeEstimated: Bool? = nil) {
        self.text = text
        self.start = start
        self.end = end
        self.confidence = confidence
        self.speaker = speaker
        self.timeEstimated = timeEstimated
    }
}

/// A stretch of speech: consecutive words without a long pause or a change of speaker.
public struct Segment: Sendable, Hashable, Codable {
    /// Start, in seconds from the start of the file.
    public var start: Double
    /// End, in seconds from the start of the file.
    public var end: Double
    /// The words joined by spaces.
    public var text: String
    /// The speaker label, when known.
    public var speaker: String?
    /// The words of the segment, in time order.
    public var words: [Word]

    /// Creates a segment from `words`; its times and text follow from them.
    public init(words: [Word], speaker: String? = nil) {
        self.words = words
        self.start = words.first?.start ?? 0
        self.end = words.last?.end ?? 0
        self.text = words.map(\.text).joined(separator: " ")
        self.speaker = speaker
    }

    enum CodingKeys: String, CodingKey { case start, end, text, speaker, words }
}

/// A transcript: segments in time order, who spoke when, and how it was made.
public struct Transcript: Sendable, Hashable, Codable {
    /// Segments in time order.
    public var segments: [Segment]
    /// Who spoke when, from diarization; empty when it was off or failed.
    public var speakerTurns: [SpeakerTurn]
    /// Where the transcript came from and how it was made.
    public var metadata: TranscriptMetadata

    /// Creates a transcript.
    public init(segments: [Segment], speakerTurns: [SpeakerTurn] = [], metadata: TranscriptMetadata) {
        self.segments = segments
        self.speakerTurns = speakerTurns
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey { case segments, speakerTurns, metadata }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        segments = try container.decode([Segment].self, forKey: .segments)
        // Results stored before diarization existed have no turns.
        speakerTurns = try container.decodeIfPresent([SpeakerTurn].self, forKey: .speakerTurns) ?? []
        metadata = try container.decode(TranscriptMetadata.self, forKey: .metadata)
    }

    /// All words in time order.
    public var words: [Word] { segments.flatMap(\.words) }

    /// The whole text, segments joined by spaces.
    public var text: String { segments.map(\.text).joined(separator: " ") }
}

/// How a transcript was made: source, engine, chunking and timings.
public struct TranscriptMetadata: Sendable, Hashable, Codable {
    /// The input file as given.
    public var source: String
    /// Seconds of audio transcribed.
    public var duration: Double
    /// Seconds into the file where transcription started.
    public var startTime: Double
    /// libsndfile's description of the input format.
    public var inputFormat: String
    /// The input's sample rate and channel count.
    public var inputSampleRate: Int
    /// The input's channel count.
    public var inputChannels: Int
    /// Engine name, such as "pocketsphinx".
    public var engine: String
    /// The acoustic model, language model and dictionary the engine used.
    public var model: String
    /// Chunking parameters and the resulting chunk count.
    public var chunking: Chunking
    /// Wall-clock timings of the run.
    public var timings: Timings
    /// Memory figures of the run.
    public var memory: Memory
    /// What diarization did, or nil when it was off.
    public var diarization: DiarizationSummary?
    /// Where the words' times came from: the engine, or estimated within the engine's segments
    /// (servers that return no word times). Nil for transcripts made before this was recorded.
    public var wordTimes: WordTimes?
    /// What the engine's hallucination guards did over the run: chunks not sent for lack of
    /// speech, segments dropped (over silence, repeats, loops) and retries. Nil for engines
    /// without guards (PocketSphinx) and for transcripts made before this was recorded.
    public var guards: GuardCounts?
    /// The language the engine heard in the run's first chunk that had speech (what was sent
    /// with the rest when it was detected), for engines that say. Nil for PocketSphinx.
    public var language: String?

    /// Where a transcript's word times came from.
    public enum WordTimes: String, Sendable, Hashable, Codable {
        /// Every word was timed by the engine.
        case engine
        /// No word was timed by the engine: times are spread within its segments.
        case estimated
        /// Some chunks came with word times and some without.
        case mixed

        /// The value for `words`, by whether each one's time was estimated.
        public init(_ words: [Word]) {
            let estimated = words.filter { $0.timeEstimated == true }.count
            self = estimated == 0 ? .engine : estimated == words.count ? .estimated : .mixed
        }
    }

    /// Metadata for a transcript.
    public init(
        source: String, duration: Double, startTime: Double, inputFormat: String, inputSampleRate: Int, inputChannels: Int,
        engine: String, model: String, chunking: Chunking, timings: Timings, memory: Memory, diarization: DiarizationSummary? = nil
    ) {
        self.diarization = diarization
        self.source = source
        self.duration = duration
        self.startTime = startTime
        self.inputFormat = inputFormat
        self.inputSampleRate = inputSampleRate
        self.inputChannels = inputChannels
        self.engine = engine
        self.model = model
        self.chunking = chunking
        self.timings = timings
        self.memory = memory
    }

    /// Chunking parameters of the run.
    public struct Chunking: Sendable, Hashable, Codable {
        /// Nominal chunk length in seconds.
        public var chunkSize: Double
        /// Overlap on each side of a boundary, in seconds.
        public var overlap: Double
        /// How far from the nominal boundary the quietest point was searched, in seconds.
        public var boundaryWindow: Double
        /// Number of chunks decoded.
        public var chunks: Int
        /// Workers requested.
        public var maxWorkers: Int

        /// Chunking figures.
        public init(chunkSize: Double, overlap: Double, boundaryWindow: Double, chunks: Int, maxWorkers: Int) {
            self.chunkSize = chunkSize
            self.overlap = overlap
            self.boundaryWindow = boundaryWindow
            self.chunks = chunks
            self.maxWorkers = maxWorkers
        }
    }

    /// Wall-clock timings in seconds.
    public struct Timings: Sendable, Hashable, Codable {
        /// From start to the assembled transcript.
        public var total: Double
        /// Time spent loading decoders.
        public var engineLoad: Double
        /// Audio seconds per wall-clock second.
        public var speed: Double

        /// Timings.
        public init(total: Double, engineLoad: Double, speed: Double) {
            self.total = total
            self.engineLoad = engineLoad
            self.speed = speed
        }
    }

    /// Memory figures in megabytes.
    public struct Memory: Sendable, Hashable, Codable {
        /// The memory limit in force, or nil when unlimited.
        public var limitMB: Int?
        /// Where the limit came from (flag, environment, cgroup, ...), when there is one.
        public var limitSource: String?
        /// Peak resident set size during the run: the process's, plus its FFmpeg child's when
        /// FFmpeg decoded the file.
        public var peakRSSMB: Double
        /// How many workers the limit allowed to run at once.
        public var workersAllowed: Int
        /// The FFmpeg child's own peak resident size, when FFmpeg decoded the file.
        public var ffmpegPeakRSSMB: Double?

        /// Memory figures.
        public init(limitMB: Int?, limitSource: String?, peakRSSMB: Double, workersAllowed: Int, ffmpegPeakRSSMB: Double? = nil) {
            self.limitMB = limitMB
            self.limitSource = limitSource
            self.peakRSSMB = peakRSSMB
            self.workersAllowed = workersAllowed
            self.ffmpegPeakRSSMB = ffmpegPeakRSSMB
        }
    }
}
