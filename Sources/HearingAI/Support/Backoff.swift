package import Foundation

/// Exponential backoff with jitter: how long to wait before a retry.
///
/// The n-th retry waits `base × factorⁿ⁻¹`, capped at `cap`, times a random draw from `jitter`,
/// so that workers that failed together do not come back together.
package struct Backoff: Sendable {
    /// The first retry's delay before jitter, in seconds.
    package var base: TimeInterval
    /// How much each retry's delay grows over the one before.
    package var factor: Double
    /// The longest delay before jitter, in seconds.
    package var cap: TimeInterval
    /// The range the capped delay is multiplied by.
    package var jitter: ClosedRange<Double>

    package init(base: TimeInterval, factor: Double, cap: TimeInterval, jitter: ClosedRange<Double>) {
        self.base = base
        self.factor = factor
        self.cap = cap
        self.jitter = jitter
    }

    /// The delay in seconds before retry number `attempt` (the first retry is 1).
    package func delay(attempt: Int) -> TimeInterval {
        // Bounded so that a long run of failures cannot overflow to infinity (and 0 × ∞ to NaN).
        let exponent = Double(min(max(0, attempt - 1), 30))
        return min(cap, base * pow(factor, exponent)) * Double.random(in: jitter)
    }
}
