/// How far a run has got, reported after every chunk.
public struct TranscriptionProgress: Sendable, Hashable {
    /// Chunks finished.
    public var chunksDone: Int
    /// Chunks expected, estimated from the header's length until the last chunk is read.
    public var chunksTotal: Int
    /// Seconds of audio finished (owned ranges of finished chunks).
    public var audioDone: Double
    /// Seconds of audio in the run, from the header.
    public var audioTotal: Double
    /// Wall-clock seconds since the run started.
    public var elapsed: Double
    /// The chunk that just finished.
    public var chunk: ChunkReport?

    /// A report of `chunksDone` of `chunksTotal` chunks and `audioDone` of `audioTotal` seconds,
    /// `elapsed` seconds into the run.
    public init(chunksDone: Int, chunksTotal: Int, audioDone: Double, audioTotal: Double, elapsed: Double, chunk: ChunkReport? = nil) {
        self.chunksDone = chunksDone
        self.chunksTotal = chunksTotal
        self.audioDone = audioDone
        self.audioTotal = audioTotal
        self.elapsed = elapsed
        self.chunk = chunk
    }

    /// Audio seconds per wall-clock second so far.
    public var speed: Double { elapsed > 0 ? audioDone / elapsed : 0 }
    /// Fraction done, 0...1.
    public var fraction: Double { audioTotal > 0 ? min(1, audioDone / audioTotal) : 0 }
    /// Estimated seconds left, when there is a rate to estimate from.
    public var eta: Double? { speed > 0 ? max(0, (audioTotal - audioDone) / speed) : nil }
}

/// What happened to one chunk.
public struct ChunkReport: Sendable, Hashable {
    /// The chunk's index.
    public var index: Int
    /// The range the chunk owns, in seconds on the file's clock.
    public var start: Double
    /// End of the owned range, in seconds on the file's clock.
    public var end: Double
    /// Words kept from the chunk.
    public var words: Int
    /// Wall-clock seconds spent decoding it (0 when it came from the checkpoint cache).
    public var decodeSeconds: Double
    /// Whether the result came from the checkpoint cache.
    public var cached: Bool
    /// What the engine's hallucination guards did with the chunk (nil for engines without).
    public var guards: GuardCounts?
    /// The language the engine said it heard in the chunk, for engines that say.
    public var language: String?

    /// The guards' work in words ("no speech, not sent", "dropped 1 loop; …"), or nil when
    /// they did nothing: for `--show-chunks` and the per-chunk log lines.
    public var guardNote: String? {
        guard let guards, !guards.isEmpty else { return nil }
        return guards.summary
    }
}
