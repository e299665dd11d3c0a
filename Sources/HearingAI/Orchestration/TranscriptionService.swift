/// Turns chunks into words with a pool of decoders from one engine.
///
/// Registered with the ``ResourceManager`` by the orchestrator that creates it; ``close()``
/// frees its decoders.
public final class TranscriptionService: Sendable {
    /// The engine decoders come from.
    public let engine: any TranscriptionEngine
    let pool: DecoderPool

    /// A service with at most `maxDecoders` decoders alive at once.
    public init(engine: any TranscriptionEngine, maxDecoders: Int) {
        self.engine = engine
        self.pool = DecoderPool(engine: engine, capacity: maxDecoders)
    }

    /// Decodes `chunk` on a pooled decoder. Word times are seconds from `chunk.samples[0]`.
    public func decode(_ chunk: Chunk) async throws -> [Word] {
        let decoder = try await pool.acquire()
        do {
            let words = try await decoder.decode(chunk)
            await pool.release(decoder)
            return words
        } catch {
            await pool.release(decoder)
            throw error
        }
    }

    /// How many decoders this service has created (reuse keeps this at the worker count).
    public var decodersCreated: Int {
        get async { await pool.decodersCreated }
    }

    /// Frees idle decoders, keeping the service usable. Returns how many were freed.
    @discardableResult
    public func releaseIdle() async -> Int {
        await pool.drainIdle()
    }

    /// Frees every decoder. Later calls to ``decode(_:)`` fail.
    public func close() async {
        await pool.close()
    }
}
