/// Turns chunks into words with a pool of decoders from one engine, admitted against the
/// memory budget.
///
/// Registered with the ``ResourceManager`` by the orchestrator that creates it; cleanup frees
/// its idle decoders and ``close()`` frees them all.
public final class TranscriptionService: ManagedResource {
    /// The engine decoders come from.
    public let engine: any TranscriptionEngine
    let pool: DecoderPool

    /// A service with at most `maxDecoders` decoders alive at once, within `budget`.
    public init(engine: any TranscriptionEngine, maxDecoders: Int, budget: MemoryBudget) {
        self.engine = engine
        self.pool = DecoderPool(engine: engine, capacity: maxDecoders, budget: budget)
    }

    /// Decodes `chunk` on a pooled decoder once its cost fits the budget. Word times are
    /// seconds from `chunk.samples[0]`.
    public func decode(_ chunk: Chunk, run: DecodingRun = DecodingRun()) async throws -> DecodedChunk {
        let seconds = Double(chunk.samples.count) / Double(ChunkPlan.sampleRate)
        let decoder = try await pool.acquire(chunkSeconds: seconds)
        do {
            let decoded = try await decoder.decode(chunk, run: run)
            await pool.release(decoder, chunkSeconds: seconds)
            return decoded
        } catch {
            await pool.release(decoder, chunkSeconds: seconds)
            throw error
        }
    }

    /// How many decoders this service has created (reuse keeps this at the worker count).
    public var decodersCreated: Int {
        get async { await pool.decodersCreated }
    }

    /// The most chunks that have decoded at once.
    public var peakConcurrentDecodes: Int {
        get async { await pool.peakBusy }
    }

    public var resourceName: String { "transcription(\(engine.name))" }

    public func footprintBytes() async -> Int {
        await pool.liveCount * engine.decoderCost.footprintBytes
    }

    public func releaseIdle() async {
        await pool.drainIdle()
    }

    /// Keeps the idle decoders: they are what the next file needs, and loading one again
    /// costs about 0.4 s (PocketSphinx's models).
    public func releaseCaches() async {}

    /// Decoders alive now, idle or busy.
    public var liveDecoders: Int {
        get async { await pool.liveCount }
    }

    public func throttle() async {
        let live = await pool.liveCount
        await pool.setCapacity(max(1, live - 1))
    }

    /// Frees every decoder. Later calls to ``decode(_:run:)`` fail.
    public func close() async {
        await pool.close()
    }
}
