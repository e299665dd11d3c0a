import CHearingShims

/// Decoders shared by the chunks of a run (and, in a session, by several runs), admitted
/// against a ``MemoryBudget``.
///
/// Creating a PocketSphinx decoder costs about 100 MB and a noticeable load time, so decoders
/// are created lazily and reused. Before a chunk starts, its cost is reserved: its buffers,
/// the decoder's growth for its length, and — if no idle decoder can take it — a new
/// decoder's footprint. What does not fit waits for a running chunk to finish; concurrency is
/// whatever fits, never more than `capacity`.
actor DecoderPool {
    private let engine: any TranscriptionEngine
    private let budget: MemoryBudget
    private var cost: DecoderCost

    private struct Slot {
        let decoder: any ChunkDecoder
        /// Bytes reserved for the decoder itself (footprint and growth allowance).
        var reservedBytes: Int
        /// The growth allowance included in `reservedBytes`.
        var growthAllowance: Int
    }

    private var idle: [Slot] = []
    private var busy: [ObjectIdentifier: Slot] = [:]
    private var creating = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private(set) var capacity: Int
    private var closed = false

    /// How many decoders this pool has created since it was made.
    private(set) var decodersCreated = 0
    /// Seconds spent creating decoders.
    private(set) var loadSeconds = 0.0
    /// The most chunks that have been decoding at once.
    private(set) var peakBusy = 0
    /// The footprint of the last decoder created, as measured (bytes).
    private(set) var measuredFootprint: Int?

    init(engine: any TranscriptionEngine, capacity: Int, budget: MemoryBudget) {
        self.engine = engine
        self.capacity = max(1, capacity)
        self.budget = budget
        self.cost = engine.decoderCost
    }

    /// Decoders alive now.
    var liveCount: Int { idle.count + busy.count + creating }

    /// Bytes one worker needs: a decoder, its growth and a chunk of `seconds`.
    func bytesPerWorker(chunkSeconds: Double) -> Int {
        cost.footprintBytes + cost.growth(forChunkSeconds: chunkSeconds) + DecoderCost.chunkBufferBytes(seconds: chunkSeconds)
    }

    /// Raises or lowers how many decoders may exist; idle ones beyond a lower capacity are freed.
    func setCapacity(_ newCapacity: Int) {
        capacity = max(1, newCapacity)
        while liveCount > capacity, let slot = idle.popLast() {
            free(slot)
        }
        wakeAll()
    }

    /// A decoder admitted for a chunk of `chunkSeconds`, once its cost fits the budget.
    /// Release it with ``release(_:chunkSeconds:)``.
    func acquire(chunkSeconds: Double) async throws -> any ChunkDecoder {
        let chunkBytes = DecoderCost.chunkBufferBytes(seconds: chunkSeconds)
        let growth = cost.growth(forChunkSeconds: chunkSeconds)
        while true {
            if closed { throw HearingAIError(.cancelled, reason: "the pipeline is closed") }

            // An idle decoder: reserve the chunk and any growth beyond its allowance.
            if let index = idle.indices.last {
                let extra = max(0, growth - idle[index].growthAllowance)
                if budget.tryReserve(chunkBytes + extra) {
                    var slot = idle.remove(at: index)
                    slot.reservedBytes += extra
                    slot.growthAllowance += extra
                    return markBusy(slot)
                }
            }

            // A new decoder: the first alone, so that its footprint is measured cleanly; once
            // one has been measured, several may load at once.
            if creating == 0 || (measuredFootprint != nil), liveCount < capacity {
                let decoderBytes = cost.footprintBytes + growth
                if budget.tryReserve(decoderBytes + chunkBytes) {
                    let slot = try await create(reserved: decoderBytes, growth: growth, chunkBytes: chunkBytes)
                    return markBusy(slot)
                }
            }

            // Nothing running will free memory: waiting would be forever.
            if busy.isEmpty, creating == 0 {
                if let slot = idle.popLast() {
                    // An idle decoder's reservation might be what blocks a smaller need.
                    free(slot)
                    continue
                }
                let perWorker = cost.footprintBytes + growth + chunkBytes
                let limit = budget.limit.map { "\($0.megabytes) MB (\($0.source))" } ?? "the limit"
                throw HearingAIError(
                    .memoryLimitTooSmall,
                    reason:
                        "memory limit \(limit) is too small for one worker; the smallest that works is \(budget.smallestLimitMB(perWorker: perWorker)) MB"
                )
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    /// Returns `decoder` after a chunk of `chunkSeconds`, releasing the chunk's reservation.
    func release(_ decoder: any ChunkDecoder, chunkSeconds: Double) {
        budget.release(DecoderCost.chunkBufferBytes(seconds: chunkSeconds))
        guard let slot = busy.removeValue(forKey: ObjectIdentifier(decoder)) else { return }
        if closed || liveCount >= capacity {
            free(slot)
        } else {
            idle.append(slot)
        }
        wakeAll()
    }

    /// Frees every idle decoder and returns heap pages to the kernel. Returns how many were freed.
    @discardableResult
    func drainIdle() -> Int {
        let count = idle.count
        while let slot = idle.popLast() { free(slot) }
        if count > 0 { _ = CHearingShims_malloc_trim() }
        wakeAll()
        return count
    }

    /// Frees idle decoders now and the busy ones as they are released.
    func close() {
        closed = true
        drainIdle()
        wakeAll()
    }

    private func create(reserved: Int, growth: Int, chunkBytes: Int) async throws -> Slot {
        creating += 1
        defer { creating -= 1 }
        let clock = ContinuousClock()
        let started = clock.now
        let before = SystemInfo.residentBytes()
        let decoder: any ChunkDecoder
        do {
            decoder = try await engine.makeDecoder()
        } catch {
            budget.release(reserved + chunkBytes)
            wakeAll()
            throw error
        }
        let measured = SystemInfo.residentBytes() - before
        measuredFootprint = measured
        loadSeconds += (clock.now - started).seconds
        decodersCreated += 1
        // Other decoders running meanwhile make the measurement noisy; the estimate is a floor,
        // and a larger measurement raises it for the decoders created after this one.
        var slot = Slot(decoder: decoder, reservedBytes: reserved, growthAllowance: growth)
        if measured > cost.footprintBytes {
            let extra = measured - cost.footprintBytes
            cost.footprintBytes = measured
            // Already resident: record it even if it overdraws, so later admissions see it.
            if !budget.tryReserve(extra) { budget.forceReserve(extra) }
            slot.reservedBytes += extra
        }
        // Chunks waiting for the first measurement may now create decoders of their own.
        wakeAll()
        return slot
    }

    private func markBusy(_ slot: Slot) -> any ChunkDecoder {
        busy[ObjectIdentifier(slot.decoder)] = slot
        peakBusy = max(peakBusy, busy.count)
        return slot.decoder
    }

    private func free(_ slot: Slot) {
        slot.decoder.close()
        budget.release(slot.reservedBytes)
    }

    private func wakeAll() {
        let pending = waiters
        waiters.removeAll()
        pending.forEach { $0.resume() }
    }
}

extension Duration {
    /// The duration in seconds as a `Double` (for this package's modules, not its clients).
    package var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
