/// Decoders shared by the chunks of a run (and, in a session, by several runs).
///
/// Creating a PocketSphinx decoder costs about 100 MB and a noticeable load time, so decoders
/// are created lazily, at most `capacity` of them, and reused. A chunk waits for an idle
/// decoder rather than creating one past the capacity.
actor DecoderPool {
    private let engine: any TranscriptionEngine
    private var idle: [any ChunkDecoder] = []
    private var all: [any ChunkDecoder] = []
    private var creating = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private(set) var capacity: Int
    private var closed = false

    /// How many decoders this pool has created since it was made.
    private(set) var decodersCreated = 0
    /// Seconds spent creating decoders.
    private(set) var loadSeconds = 0.0

    init(engine: any TranscriptionEngine, capacity: Int) {
        self.engine = engine
        self.capacity = max(1, capacity)
    }

    /// Decoders alive now.
    var liveCount: Int { all.count }

    /// Raises or lowers how many decoders may exist; idle ones beyond a lower capacity are freed.
    func setCapacity(_ newCapacity: Int) {
        capacity = max(1, newCapacity)
        while all.count > capacity, let decoder = idle.popLast() {
            remove(decoder)
        }
        wakeAll()
    }

    /// An idle decoder, a new one if there is room, or the next one released.
    func acquire() async throws -> any ChunkDecoder {
        while true {
            if closed { throw HearingAIError(.cancelled, reason: "the pipeline is closed") }
            if let decoder = idle.popLast() { return decoder }
            if all.count + creating < capacity {
                creating += 1
                let clock = ContinuousClock()
                let started = clock.now
                do {
                    let decoder = try await engine.makeDecoder()
                    creating -= 1
                    loadSeconds += (clock.now - started).seconds
                    decodersCreated += 1
                    all.append(decoder)
                    return decoder
                } catch {
                    creating -= 1
                    wakeAll()
                    throw error
                }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    /// Returns `decoder` for reuse.
    func release(_ decoder: any ChunkDecoder) {
        if closed || all.count > capacity {
            remove(decoder)
        } else {
            idle.append(decoder)
        }
        wakeAll()
    }

    /// Frees every idle decoder. Returns how many were freed.
    @discardableResult
    func drainIdle() -> Int {
        let count = idle.count
        while let decoder = idle.popLast() { remove(decoder) }
        return count
    }

    /// Frees idle decoders now and the busy ones as they are released.
    func close() {
        closed = true
        drainIdle()
        wakeAll()
    }

    private func remove(_ decoder: any ChunkDecoder) {
        all.removeAll { $0 === decoder }
        decoder.close()
    }

    private func wakeAll() {
        let pending = waiters
        waiters.removeAll()
        pending.forEach { $0.resume() }
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
