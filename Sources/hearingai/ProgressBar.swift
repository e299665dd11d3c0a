import Foundation
import HearingAI
import Synchronization

/// A one-line progress bar on stderr, redrawn in place: percent, audio done / total, speed as a
/// multiple of real time, and ETA. Only used when stderr is a terminal.
final class ProgressBar: Sendable {
    private let lastDraw = Mutex<ContinuousClock.Instant?>(nil)

    static var isTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    func update(_ progress: TranscriptionProgress) {
        let now = ContinuousClock.now
        // Redraw at most ten times a second.
        let draw = lastDraw.withLock { last in
            if let previous = last, now - previous < .milliseconds(100), progress.fraction < 1 { return false }
            last = now
            return true
        }
        guard draw else { return }
        write("\r\u{1B}[2K" + Self.line(progress))
    }

    func finish() {
        write("\r\u{1B}[2K")
    }

    static func line(_ progress: TranscriptionProgress, width: Int = 30) -> String {
        let filled = Int((progress.fraction * Double(width)).rounded(.down))
        let bar =
            String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        let percent = String(format: "%3d%%", Int((progress.fraction * 100).rounded(.down)))
        let speed = String(format: "%.1fx", progress.speed)
        let eta = progress.eta.map { clock($0) } ?? "--:--"
        return "[\(bar)] \(percent)  \(clock(progress.audioDone)) / \(clock(progress.audioTotal))  \(speed)  ETA \(eta)"
    }

    static func clock(_ seconds: Double) -> String {
        ClockFormat.minutes.string(seconds)
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
