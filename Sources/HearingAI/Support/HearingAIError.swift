#if canImport(Glibc)
import Glibc
#endif

/// An error from HearingAI, with a one-line description that names the file and the reason.
///
/// Every error a user can see is one of these: the library's, the service's, a system call's
/// (with its `errno`) and the queue's. ``init(_:path:)`` wraps anything else, so that the
/// command line has one rule: any thrown error becomes one `hearingai: …` line.
///
/// Errors are a struct with a nested ``Code`` rather than a public enum, so that new kinds of
/// failure can be added without breaking clients that switch over them.
public struct HearingAIError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case fileUnreadable, notAudio, unsupportedAudio, truncatedAudio, noAudio
            case invalidOptions, engineUnavailable, engineFailed, outputFailed
            case decoderFailed, decoderInterrupted
            case memoryLimitTooSmall, cancelled, jobCancelled
            case fileSystem, queueFailed, leaseLost, serviceUnavailable, unexpected
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
        /// Options that contradict each other or are out of range, or configuration that
        /// cannot be read.
        public static let invalidOptions = Code(.invalidOptions)
        /// The transcription engine could not be started (missing model files, ...).
        public static let engineUnavailable = Code(.engineUnavailable)
        /// The engine failed while decoding.
        public static let engineFailed = Code(.engineFailed)
        /// A transcript could not be written.
        public static let outputFailed = Code(.outputFailed)
        /// The external decoder (FFmpeg) failed on this file in a way that would repeat: it
        /// crashed or exceeded its resource limits.
        public static let decoderFailed = Code(.decoderFailed)
        /// The external decoder (FFmpeg) was killed from outside or stopped producing audio:
        /// trying again may succeed.
        public static let decoderInterrupted = Code(.decoderInterrupted)
        /// The memory limit cannot fit even one worker.
        public static let memoryLimitTooSmall = Code(.memoryLimitTooSmall)
        /// The run was cancelled.
        public static let cancelled = Code(.cancelled)
        /// A client asked for the job to be cancelled (`DELETE /v1/jobs/ID`, or the client of a
        /// transcription request went away): the job ends failed, not retried.
        public static let jobCancelled = Code(.jobCancelled)
        /// A system call on a file or directory failed; ``HearingAIError/errno`` says why.
        public static let fileSystem = Code(.fileSystem)
        /// The job queue's database failed.
        public static let queueFailed = Code(.queueFailed)
        /// A write about a running job was refused because its lease is no longer this
        /// process's (it stopped heartbeating for longer than the lease, and the job was
        /// requeued and claimed again, perhaps by another node): the job must be abandoned
        /// without writing anything more.
        public static let leaseLost = Code(.leaseLost)
        /// The service cannot start or go on (another instance holds the queue, ...).
        public static let serviceUnavailable = Code(.serviceUnavailable)
        /// A failure of a kind HearingAI does not classify.
        public static let unexpected = Code(.unexpected)

        public var description: String { value.rawValue }

        /// Whether retrying the same input can succeed (a transient failure) or not.
        public var isPermanent: Bool {
            switch value {
            case .notAudio, .unsupportedAudio, .truncatedAudio, .noAudio, .invalidOptions, .memoryLimitTooSmall, .decoderFailed,
                .jobCancelled:
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
    /// The system call's error number, for ``Code/fileSystem`` errors.
    public var errno: Int32?

    /// Creates an error of `code` about `path` with a short `reason`.
    public init(_ code: Code, path: String? = nil, reason: String, errno: Int32? = nil) {
        self.code = code
        self.path = path
        self.reason = reason
        self.errno = errno
    }

    /// A failed system call: `operation` on `path`, with `errno`'s text as the reason.
    public static func system(_ operation: String, path: String, errno code: Int32) -> HearingAIError {
        HearingAIError(.fileSystem, path: path, reason: "\(operation) failed: \(String(cString: strerror(code)))", errno: code)
    }

    /// `error` as a ``HearingAIError``: itself if it is one; a cancellation as ``Code/cancelled``;
    /// anything else as ``Code/unexpected`` with its description. `path` fills in a missing path.
    public init(_ error: any Error, path: String? = nil) {
        switch error {
        case let error as HearingAIError:
            self = error
            if self.path == nil { self.path = path }
        case is CancellationError:
            self.init(.cancelled, path: path, reason: "cancelled")
        default:
            self.init(.unexpected, path: path, reason: String(describing: error))
        }
    }

    /// Whether retrying can succeed.
    public var isPermanent: Bool { code.isPermanent }

    /// Whether the failure is the disk being full (ENOSPC, EDQUOT): the machine's condition,
    /// not the input's.
    public var isOutOfSpace: Bool { errno == ENOSPC || errno == EDQUOT }

    /// `PATH: reason` on one line, suitable for a terminal or a log.
    public var description: String {
        let oneLine = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
        guard let path else { return oneLine }
        return "\(path): \(oneLine)"
    }
}
