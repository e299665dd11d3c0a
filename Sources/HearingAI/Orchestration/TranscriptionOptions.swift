/// Everything that shapes one transcription run.
public struct TranscriptionOptions: Sendable, Hashable {
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

    /// Options with the defaults: 30 s chunks, 1 s overlap, one worker per core.
    public init(
        chunking: ChunkPlan = ChunkPlan(),
        maxWorkers: Int = TranscriptionOptions.defaultWorkers,
        startTime: Double = 0,
        endTime: Double? = nil,
        sampleDuration: Double? = nil,
        segmentPause: Double = Segmenter.defaultPause,
        diarization: DiarizationOptions = DiarizationOptions()
    ) {
        self.diarization = diarization
        self.chunking = chunking
        self.maxWorkers = maxWorkers
        self.startTime = startTime
        self.endTime = endTime
        self.sampleDuration = sampleDuration
        self.segmentPause = segmentPause
    }

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
    }
}
