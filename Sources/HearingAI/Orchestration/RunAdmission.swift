import Synchronization

/// Lets several files run at once through one orchestrator, within its memory budget.
///
/// Each run reserves what it holds for its whole length (the diarizer's analysis); its chunks
/// take decoders from the shared ``DecoderPool``, which admits each chunk on its own. The
/// first run is always let in (whether the limit fits it at all is its own check). Another
/// run is let in beside it only when its reservation *and one more worker* fit beside what
/// is reserved now, so that once the running files' decoders are gone a worker always fits
/// and no run waits forever; otherwise it waits until a run ends. Under a limit that fits
/// one file at a time, files run one at a time.
final class RunAdmission: Sendable {
    /// How a run was let in.
    enum Admission {
        /// No other run was active: the run may reset process-wide measurements (peak RSS).
        case alone
        /// Beside other runs.
        case beside
    }

    private struct State {
        var active = 0
        /// Bumped whenever a run ends, so that a waiter never misses the end it waits for.
        var generation = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let budget: MemoryBudget
    private let state = Mutex(State())

    init(budget: MemoryBudget) {
        self.budget = budget
    }

    /// Runs active now.
    var active: Int { state.withLock { $0.active } }

    /// Lets a run in once `bytes` are reserved for it (and, beside other runs, a worker's
    /// `perWorker` bytes are free as well). Alone, `makeRoom` is tried once when `bytes` do
    /// not fit (it frees idle decoders; it returns whether it freed anything). Returns nil
    /// when the run can never fit; otherwise pair it with ``leave(releasing:)``.
    func admit(reserving bytes: Int, perWorker: Int, makeRoom: () async -> Bool) async -> Admission? {
        enum Step {
            case alone, beside
            case wait(generation: Int)
        }
        while true {
            let step = state.withLock { state -> Step in
                if state.active == 0 {
                    state.active = 1
                    return .alone
                }
                if budget.tryReserve(bytes + perWorker) {
                    budget.release(perWorker)
                    state.active += 1
                    return .beside
                }
                return .wait(generation: state.generation)
            }
            switch step {
            case .beside:
                return .beside
            case .alone:
                if budget.tryReserve(bytes) { return .alone }
                if await makeRoom(), budget.tryReserve(bytes) { return .alone }
                leave(releasing: 0)
                return nil
            case .wait(let generation):
                await wait(since: generation)
            }
        }
    }

    /// Waits until a run ends, for a file that needs room before it can ask to be let in
    /// (FFmpeg's reservation). Returns false at once when no run is active: nothing will free
    /// room by ending.
    func waitForRunToEnd() async -> Bool {
        guard let generation = state.withLock({ $0.active == 0 ? nil : $0.generation }) else { return false }
        await wait(since: generation)
        return true
    }

    /// Returns once a run has ended since `generation`.
    private func wait(since generation: Int) async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                guard state.generation == generation else { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Ends a run: gives back its `bytes` and wakes the runs waiting to be let in.
    func leave(releasing bytes: Int) {
        budget.release(bytes)
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.active -= 1
            state.generation += 1
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }
}
