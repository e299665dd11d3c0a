import Synchronization

/// Reservations against a ``MemoryLimit``: what runs must fit before it starts.
///
/// The limit covers the whole process. What the process held before the pipeline started
/// (the `baseline`: runtime, libraries, the caller's own data) and a fixed `headroom` for what
/// is not reserved (thread stacks, the reader's blocks, the transcript) are set aside; the
/// rest is for reservations. Without a limit every reservation succeeds.
public final class MemoryBudget: Sendable {
    /// Memory not covered by reservations: stacks, allocator slack, the reader's buffers.
    public static let defaultHeadroomBytes = 8 * 1_048_576

    /// Bytes set aside for what reservations do not cover.
    public let headroomBytes: Int

    private struct State {
        var limit: MemoryLimit?
        var baseline: Int
        var reserved = 0
        var peakReserved = 0

        var capacity: Int? { limit.map { $0.bytes - baseline } }
    }
    private let state: Mutex<State>

    /// A budget under `limit`, with the process's present resident size as its baseline.
    public init(
        limit: MemoryLimit?, baselineBytes: Int = SystemInfo.residentBytes(), headroomBytes: Int = MemoryBudget.defaultHeadroomBytes
    ) {
        self.headroomBytes = headroomBytes
        self.state = Mutex(State(limit: limit, baseline: baselineBytes + headroomBytes))
    }

    /// The limit, or nil for none.
    public var limit: MemoryLimit? { state.withLock { $0.limit } }

    /// Resident bytes before the pipeline started.
    public var baselineBytes: Int { state.withLock { $0.baseline } - headroomBytes }

    /// Replaces the limit. Reservations already made stay.
    public func setLimit(_ limit: MemoryLimit?) {
        state.withLock { $0.limit = limit }
    }

    /// Bytes available to reservations in all, or nil without a limit.
    public var capacityBytes: Int? { state.withLock { $0.capacity } }

    /// Bytes reserved now.
    public var reservedBytes: Int { state.withLock { $0.reserved } }

    /// The most ever reserved at once.
    public var peakReservedBytes: Int { state.withLock { $0.peakReserved } }

    /// Reserves `bytes` if they fit beside what is reserved; returns whether they did.
    public func tryReserve(_ bytes: Int) -> Bool {
        state.withLock { state in
            if let capacity = state.capacity, state.reserved + bytes > capacity { return false }
            state.reserved += bytes
            state.peakReserved = max(state.peakReserved, state.reserved)
            return true
        }
    }

    /// Records `bytes` already in use even if they overdraw the budget, so that later
    /// reservations wait until they are released.
    public func forceReserve(_ bytes: Int) {
        state.withLock { state in
            state.reserved += bytes
            state.peakReserved = max(state.peakReserved, state.reserved)
        }
    }

    /// Gives back `bytes` reserved earlier.
    public func release(_ bytes: Int) {
        state.withLock { $0.reserved = max(0, $0.reserved - bytes) }
    }

    /// How many workers of `perWorker` bytes each fit beside `besides` bytes, when nothing
    /// else is reserved.
    public func workersThatFit(perWorker: Int, besides: Int = 0) -> Int {
        guard let capacity = capacityBytes else { return Int.max }
        return max(0, (capacity - besides) / max(1, perWorker))
    }

    /// The smallest limit, in MB, under which `perWorker` bytes fit once.
    public func smallestLimitMB(perWorker: Int) -> Int {
        (baselineBytes + headroomBytes + perWorker + 1_048_575) / 1_048_576
    }
}
