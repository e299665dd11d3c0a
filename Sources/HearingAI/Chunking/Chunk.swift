/// A piece of the audio stream handed to an engine.
///
/// Positions are sample indices at 16 kHz, counted from the start of the transcribed range.
/// A chunk's audio reaches `overlap` past each boundary for context, but the chunk *owns* only
/// `ownedStart..<ownedEnd`: words whose midpoint falls outside it belong to a neighbour and are
/// dropped, so that a word in an overlap appears once.
public struct Chunk: Sendable {
    /// Position in the file, from 0.
    public var index: Int
    /// 16 kHz mono samples.
    public var samples: [Int16]
    /// Sample index of `samples[0]`.
    public var audioStart: Int64
    /// First sample this chunk is responsible for.
    public var ownedStart: Int64
    /// One past the last sample this chunk is responsible for.
    public var ownedEnd: Int64
    /// What was said before this chunk in its context run, up to where its audio begins: set by
    /// the pipeline for an engine that chains context
    /// (``TranscriptionEngine/contextRunLength`` above 1), nil for a run's first chunk, a chunk
    /// after nothing but silence, and every chunk of other engines.
    public var precedingText: String?
    /// The last few words the chunk before this one kept, on the file's clock, when it finished
    /// before this one started (the chunks of a context run): the seam between them is then
    /// joined by the words' text as well as their times (``ReconciliationService``).
    public var seamWords: [Word] = []

    /// Creates a chunk.
    public init(
        index: Int, samples: [Int16], audioStart: Int64, ownedStart: Int64, ownedEnd: Int64, precedingText: String? = nil
    ) {
        self.index = index
        self.samples = samples
        self.audioStart = audioStart
        self.ownedStart = ownedStart
        self.ownedEnd = ownedEnd
        self.precedingText = precedingText
    }

    /// Seconds from the start of the range to `samples[0]`.
    public var startSeconds: Double { Double(audioStart) / Double(ChunkPlan.sampleRate) }
    /// Owned range in seconds.
    public var ownedSeconds: Range<Double> {
        Double(ownedStart) / Double(ChunkPlan.sampleRate)..<Double(ownedEnd) / Double(ChunkPlan.sampleRate)
    }
    /// Seconds of audio this chunk owns.
    public var ownedDuration: Double { ownedSeconds.upperBound - ownedSeconds.lowerBound }
}

/// How a stream is cut into chunks.
public struct ChunkPlan: Sendable, Hashable, Codable {
    /// The rate chunks are cut at.
    public static let sampleRate = 16_000

    /// Nominal chunk length in seconds.
    public var chunkSize: Double
    /// Extra audio on each side of a boundary, in seconds.
    public var overlap: Double
    /// Half-width of the window around each nominal boundary searched for the quietest point.
    public var boundaryWindow: Double

    /// Default chunk length; docs/architecture.md records the measurement behind it.
    public static let defaultChunkSize = 30.0
    /// Default overlap; docs/architecture.md records the measurement behind it.
    public static let defaultOverlap = 1.0

    /// A plan; `boundaryWindow` defaults to a tenth of the chunk, between 0.5 and 2 seconds.
    public init(chunkSize: Double = defaultChunkSize, overlap: Double = defaultOverlap, boundaryWindow: Double? = nil) {
        self.chunkSize = chunkSize
        self.overlap = overlap
        self.boundaryWindow = boundaryWindow ?? min(2.0, max(0.5, chunkSize / 10))
    }

    /// Throws unless the parameters make sense together.
    public func validate() throws {
        guard chunkSize.isFinite, chunkSize >= 2 else {
            throw HearingAIError(.invalidOptions, reason: "--chunk-size must be at least 2 seconds (got \(chunkSize))")
        }
        guard overlap.isFinite, overlap >= 0, overlap <= chunkSize / 4 else {
            throw HearingAIError(.invalidOptions, reason: "--overlap must be between 0 and a quarter of --chunk-size (got \(overlap))")
        }
        guard boundaryWindow.isFinite, boundaryWindow >= 0, boundaryWindow < chunkSize / 2 else {
            throw HearingAIError(.invalidOptions, reason: "the boundary window must be under half of --chunk-size")
        }
    }

    var chunkSamples: Int64 { Int64(chunkSize * Double(Self.sampleRate)) }
    var overlapSamples: Int64 { Int64(overlap * Double(Self.sampleRate)) }
    var windowSamples: Int64 { Int64(boundaryWindow * Double(Self.sampleRate)) }
}
