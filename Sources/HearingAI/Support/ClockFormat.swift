import Foundation

/// A number of seconds written as a clock reading: the one formatter behind transcript
/// timestamps, the progress bar and job listings.
package enum ClockFormat: Sendable {
    /// `H:MM:SS`, with as many hour digits as needed.
    case hours
    /// `MM:SS` under an hour, `H:MM:SS` from an hour on.
    case minutes
    /// `HH:MM:SS`, then `separator`, then milliseconds as `mmm`: SRT uses ",", WebVTT ".".
    case milliseconds(separator: String)

    /// `seconds` in this format. The whole-second formats round with `rule`; milliseconds are
    /// rounded to the nearest. Negative input is the caller's to clamp.
    package func string(_ seconds: Double, rounding rule: FloatingPointRoundingRule = .toNearestOrAwayFromZero) -> String {
        switch self {
        case .hours:
            return Self.hoursMinutesSeconds(Int(seconds.rounded(rule)))
        case .minutes:
            let total = Int(seconds.rounded(rule))
            return total >= 3600 ? Self.hoursMinutesSeconds(total) : String(format: "%02d:%02d", total / 60, total % 60)
        case .milliseconds(let separator):
            let millis = Int((seconds * 1000).rounded())
            let h = millis / 3_600_000, m = millis / 60_000 % 60, s = millis / 1000 % 60, ms = millis % 1000
            return String(format: "%02d:%02d:%02d", h, m, s) + separator + String(format: "%03d", ms)
        }
    }

    private static func hoursMinutesSeconds(_ total: Int) -> String {
        String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
    }
}
