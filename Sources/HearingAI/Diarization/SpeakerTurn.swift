import Foundation

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
    /// Each channel of a multichannel file is one speaker (`--speaker-per-channel`): a studio
    /// session with a microphone per person. Files with one channel, or dual mono, have their
    /// speakers found by voice instead.
    public var speakerPerChannel: Bool
    /// The channels' speaker labels in channel order (`--channel-names`); a channel without a
    /// name is "Speaker N", N its number.
    public var channelNames: [String]

    /// Options; by default on, with the number of speakers found automatically (1 to 8).
    public init(
        enabled: Bool = true, speakers: Int? = nil, minSpeakers: Int = 1, maxSpeakers: Int = 8, speakerPerChannel: Bool = false,
        channelNames: [String] = []
    ) {
        self.enabled = enabled
        self.speakers = speakers
        self.minSpeakers = minSpeakers
        self.maxSpeakers = maxSpeakers
        self.speakerPerChannel = speakerPerChannel
        self.channelNames = channelNames
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
        if channelNames.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw HearingAIError(.invalidOptions, reason: "--channel-names: a channel name is empty")
        }
        if Set(channelNames).count != channelNames.count {
            throw HearingAIError(
                .invalidOptions,
                reason: "--channel-names: each channel needs a name of its own (got \(channelNames.joined(separator: ",")))")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case enabled, speakers, minSpeakers, maxSpeakers, speakerPerChannel, channelNames
    }

    /// Decodes options; the channel fields, newer than the rest, default when absent.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        enabled = try container.decode(Bool.self, forKey: .enabled)
        speakers = try container.decodeIfPresent(Int.self, forKey: .speakers)
        minSpeakers = try container.decode(Int.self, forKey: .minSpeakers)
        maxSpeakers = try container.decode(Int.self, forKey: .maxSpeakers)
        speakerPerChannel = try container.decodeIfPresent(Bool.self, forKey: .speakerPerChannel) ?? false
        channelNames = try container.decodeIfPresent([String].self, forKey: .channelNames) ?? []
    }

    /// Encodes options. The channel fields are written only when set, so that configurations
    /// without them keep the fingerprint they had before the fields existed.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(enabled, forKey: .enabled)
        try container.encodeIfPresent(speakers, forKey: .speakers)
        try container.encode(minSpeakers, forKey: .minSpeakers)
        try container.encode(maxSpeakers, forKey: .maxSpeakers)
        if speakerPerChannel { try container.encode(true, forKey: .speakerPerChannel) }
        if !channelNames.isEmpty { try container.encode(channelNames, forKey: .channelNames) }
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
    /// How speakers were told apart: "channels" when each channel was one speaker; absent when
    /// found by voice.
    public var method: String?
    /// Why `speaker_per_channel` did not apply to this file (one channel, or dual mono), when
    /// it was asked for and speakers were found by voice instead.
    public var note: String?

    /// A summary.
    public init(speakers: Int, seconds: Double, error: String? = nil, method: String? = nil, note: String? = nil) {
        self.speakers = speakers
        self.seconds = seconds
        self.error = error
        self.method = method
        self.note = note
    }
}
