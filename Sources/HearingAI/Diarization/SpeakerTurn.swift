/// A stretch of time attributed to one speaker.
public struct SpeakerTurn: Sendable, Hashable, Codable {
    /// Start, in seconds on the file's clock.
    public var start: Double
    /// End, in seconds on the file's clock.
    public var end: Double
    /// The label, "Speaker 1", "Speaker 2", … numbered by first appearance.
    public var speaker: String

    /// A turn.
    public init(start: Double, end: Double, speaker: String) {
        self.start = start
        self.end = end
        self.speaker = speaker
    }
}

/// How speakers are found.
public struct DiarizationOptions: Sendable, Hashable, Codable {
    /// Whether to label speakers at all (`--no-diarization` turns it off).
    public var enabled: Bool
    /// The number of speakers, when known (`--speakers`).
    public var speakers: Int?
    /// At least this many speakers (`--min-speakers`).
    public var minSpeakers: Int
    /// At most this many speakers (`--max-speakers`).
    public var maxSpeakers: Int

    /// Options; by default on, with the number of speakers found automatically (1 to 8).
    public init(enabled: Bool = true, speakers: Int? = nil, minSpeakers: Int = 1, maxSpeakers: Int = 8) {
        self.enabled = enabled
        self.speakers = speakers
        self.minSpeakers = minSpeakers
        self.maxSpeakers = maxSpeakers
    }

    /// Throws unless the counts make sense together.
    public func validate() throws {
        if let speakers, speakers < 1 {
            throw HearingAIError(.invalidOptions, reason: "--speakers must be at least 1 (got \(speakers))")
        }
        guard minSpeakers >= 1, maxSpeakers >= minSpeakers else {
            throw HearingAIError(
                .invalidOptions,
                reason: "--min-speakers and --max-speakers must satisfy 1 <= min <= max (got \(minSpeakers), \(maxSpeakers))")
        }
    }
}

/// What diarization did in a run, for the transcript's metadata.
public struct DiarizationSummary: Sendable, Hashable, Codable {
    /// Speakers found (0 when diarization failed).
    public var speakers: Int
    /// Wall-clock seconds spent on diarization (feature extraction and clustering).
    public var seconds: Double
    /// Why diarization failed, when it did; the transcript is then delivered without labels.
    public var error: String?

    /// A summary.
    public init(speakers: Int, seconds: Double, error: String? = nil) {
        self.speakers = speakers
        self.seconds = seconds
        self.error = error
    }
}
