/// An error from HearingAI, with a one-line description that names the file and the reason.
///
/// Errors are a struct with a nested ``Code`` rather than a public enum, so that new kinds of
/// failure can be added without breaking clients that switch over them.
public struct HearingAIError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case fileUnreadable, notAudio, unsupportedAudio, truncatedAudio, noAudio
            case invalidOptions, engineUnavailable, engineFailed, outputFailed
            case memoryLimitTooSmall, cancelled
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The file does not exist, is not a regular file, or cannot be opened.
        public static let fileUnreadable = Code(.fileUnreadable)
        /// The file is not audio that the decoder recognises (empty, text, random bytes).
        public static let notAudio = Code(.notAudio)
        /// The file is audio but outside what we accept (channel count, sample rate).
        public static let unsupportedAudio = Code(.unsupportedAudio)
        /// The header promises more audio than the file holds, or reading failed midway.
        public static let truncatedAudio = Code(.truncatedAudio)
        /// The selected range holds no audio at all.
        public static let noAudio = Code(.noAudio)
        /// Options that contradict each other or are out of range.
        public static let invalidOptions = Code(.invalidOptions)
        /// The transcription engine could not be started (missing model files, ...).
        public static let engineUnavailable = Code(.engineUnavailable)
        /// The engine failed while decoding.
        public static let engineFailed = Code(.engineFailed)
        /// A transcript could not be written.
        public static let outputFailed = Code(.outputFailed)
        /// The memory limit cannot fit even one worker.
        public static let memoryLimitTooSmall = Code(.memoryLimitTooSmall)
        /// The run was cancelled.
        public static let cancelled = Code(.cancelled)

        public var description: String { value.rawValue }

        /// Whether retrying the same input can succeed (a transient failure) or not.
        public var isPermanent: Bool {
            switch value {
            case .notAudio, .unsupportedAudio, .truncatedAudio, .noAudio, .invalidOptions, .memoryLimitTooSmall:
                return true
            default:
                return false
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// The file concerned, if any.
    public var path: String?
    /// A short human-readable reason, without the path.
    public var reason: String

    /// Creates an error of `code` about `path` with a short `reason`.
    public init(_ code: Code, path: String? = nil, reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    /// `PATH: reason` on one line, suitable for a terminal or a log.
    public var description: String {
        let oneLine = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
        guard let path else { return oneLine }
        return "\(path): \(oneLine)"
    }
}
