import Synchronization

/// The memory an FFmpeg child takes, reserved against the ``MemoryBudget`` while it runs.
///
/// The limit covers HearingAI and its children, so a file decoded by FFmpeg costs its
/// resident set on top of the workers'. Most of it is the shared libraries Debian's ffmpeg
/// maps (about 300 of them); the codec and container add little. The figures below are the
/// peak resident sizes measured on the fixtures (`scripts/bench-ffmpeg.sh`, the kernel's
/// count when the child is reaped), rounded up with 3 MB to spare. As with decoders, a child
/// measured above its codec's figure raises it for the files after it.
enum FFmpegCost {
    /// Peak resident bytes measured per codec (FFmpeg's codec name), rounded up.
    static let measured: [String: Int] = [
        "aac": 61 * 1_048_576,
        "opus": 60 * 1_048_576,
        "wmav2": 60 * 1_048_576,
        "amr_nb": 59 * 1_048_576,
        "vorbis": 60 * 1_048_576,
        "mp3": 60 * 1_048_576,
    ]

    /// A codec not measured, and the probe (which runs before the codec is known): above
    /// every measured figure.
    static let unmeasuredBytes = 64 * 1_048_576

    /// Larger footprints seen at run time, per codec.
    private static let observed = Mutex<[String: Int]>([:])

    /// What to reserve for a child decoding `codec` (nil: not yet known).
    static func reservedBytes(codec: String?) -> Int {
        guard let codec else { return unmeasuredBytes }
        let seen = observed.withLock { $0[codec] } ?? 0
        return max(measured[codec] ?? unmeasuredBytes, seen)
    }

    /// Records a child's measured peak for `codec`; a figure above the estimate raises it, to
    /// at most twice the measured one, so that one hostile file cannot price every later file
    /// of its codec out of the limit.
    static func record(peakBytes: Int, codec: String) {
        guard peakBytes > 0 else { return }
        let ceiling = 2 * (measured[codec] ?? unmeasuredBytes)
        observed.withLock { $0[codec] = min(ceiling, max($0[codec] ?? 0, peakBytes)) }
    }
}
