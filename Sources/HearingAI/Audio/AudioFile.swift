import CSndFile
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What libsndfile reports about an audio file's header.
public struct AudioFormatInfo: Sendable, Equatable {
    /// Frames per second in the file.
    public var sampleRate: Int
    /// Interleaved channels.
    public var channels: Int
    /// Frames the header declares (an estimate for compressed streams).
    public var frames: Int64
    /// libsndfile's format description, such as "WAV (Microsoft) / Signed 24 bit PCM".
    public var formatName: String

    /// Declared duration in seconds.
    public var duration: Double { sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0 }
}

/// An audio file open for sequential reading through libsndfile.
///
/// Not thread-safe: confine an instance to one ``BlockingThread``. It never allocates in
/// proportion to what the header claims: reads go through a fixed-size buffer.
final class AudioFile {
    /// Limits on what a header may make us accept; anything beyond is refused before reading.
    enum Limits {
        static let maxChannels = 64
        static let sampleRates = 1_000...768_000
    }

    /// How a refusal by libsndfile begins: the files FFmpeg is tried on.
    static let unrecognisedReason = "not a recognised audio format"

    let path: String
    let info: AudioFormatInfo
    private var handle: OpaquePointer?
    private(set) var framesRead: Int64 = 0

    /// Opens and validates `path`. Every failure is a ``HearingAIError`` naming the file.
    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            throw HearingAIError(.fileUnreadable, path: path, reason: "cannot open: \(String(cString: strerror(code)))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw HearingAIError(.fileUnreadable, path: path, reason: "cannot stat: \(String(cString: strerror(code)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            let kind = (st.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "not a regular file"
            throw HearingAIError(.fileUnreadable, path: path, reason: "is \(kind)")
        }
        guard st.st_size > 0 else {
            close(fd)
            throw HearingAIError(.notAudio, path: path, reason: "file is empty")
        }
        // Regular files never block; clear O_NONBLOCK so libsndfile sees ordinary reads.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)

        var sfInfo = SF_INFO()
        guard let handle = sf_open_fd(fd, Int32(SFM_READ), &sfInfo, 1) else {
            // sf_open_fd closes the descriptor on failure when close_desc is set.
            let message = String(cString: sf_strerror(nil))
            throw HearingAIError(.notAudio, path: path, reason: "\(Self.unrecognisedReason) (\(Self.trimmed(message)))")
        }
        self.handle = handle

        var formatInfo = SF_FORMAT_INFO()
        formatInfo.format = sfInfo.format & Int32(SF_FORMAT_TYPEMASK)
        _ = sf_command(handle, Int32(SFC_GET_FORMAT_INFO), &formatInfo, Int32(MemoryLayout<SF_FORMAT_INFO>.size))
        var subtypeInfo = SF_FORMAT_INFO()
        subtypeInfo.format = sfInfo.format & Int32(SF_FORMAT_SUBMASK)
        _ = sf_command(handle, Int32(SFC_GET_FORMAT_INFO), &subtypeInfo, Int32(MemoryLayout<SF_FORMAT_INFO>.size))
        let container = formatInfo.name.map { String(cString: $0) } ?? "unknown"
        let encoding = subtypeInfo.name.map { String(cString: $0) } ?? "unknown"

        self.info = AudioFormatInfo(
            sampleRate: Int(sfInfo.samplerate),
            channels: Int(sfInfo.channels),
            frames: Int64(sfInfo.frames),
            formatName: "\(container) / \(encoding)"
        )

        guard (1...Limits.maxChannels).contains(info.channels) else {
            sf_close(handle)
            self.handle = nil
            throw HearingAIError(
                .unsupportedAudio, path: path, reason: "unsupported channel count \(info.channels) (at most \(Limits.maxChannels))")
        }
        guard Limits.sampleRates.contains(info.sampleRate) else {
            sf_close(handle)
            self.handle = nil
            throw HearingAIError(.unsupportedAudio, path: path, reason: "unsupported sample rate \(info.sampleRate) Hz")
        }
        if let shortfall = Self.declaredShortfall(logOf: handle) {
            sf_close(handle)
            self.handle = nil
            throw HearingAIError(
                .truncatedAudio, path: path,
                reason:
                    "truncated or lying header: the \(shortfall.chunk) chunk declares \(shortfall.declared) bytes but the file holds \(shortfall.actual)"
            )
        }
    }

    deinit {
        if let handle { sf_close(handle) }
    }

    /// Moves the read position to `frame` (used for `--start-time`).
    func seek(toFrame frame: Int64) throws {
        guard let handle else { return }
        if sf_seek(handle, sf_count_t(frame), SEEK_SET) < 0 {
            throw HearingAIError(
                .truncatedAudio, path: path, reason: "cannot seek to frame \(frame): \(String(cString: sf_strerror(handle)))")
        }
        framesRead = frame
    }

    /// Reads up to `frameCount` frames, down-mixed to mono, into `mono`. Returns frames read;
    /// 0 at the end of the file.
    func readMono(into mono: inout [Float], interleaved: inout [Float], frameCount: Int) throws -> Int {
        guard let handle else { return 0 }
        let channels = info.channels
        if interleaved.count < frameCount * channels {
            interleaved = [Float](repeating: 0, count: frameCount * channels)
        }
        let got = interleaved.withUnsafeMutableBufferPointer { buffer in
            Int(sf_readf_float(handle, buffer.baseAddress, sf_count_t(frameCount)))
        }
        let status = sf_error(handle)
        if status != 0 {
            throw HearingAIError(
                .truncatedAudio, path: path,
                reason: "read failed after \(framesRead) frames: \(Self.trimmed(String(cString: sf_strerror(handle))))")
        }
        if mono.count < got { mono = [Float](repeating: 0, count: frameCount) }
        if channels == 1 {
            for i in 0..<got { mono[i] = interleaved[i] }
        } else {
            let scale = 1 / Float(channels)
            interleaved.withUnsafeBufferPointer { src in
                for i in 0..<got {
                    var sum: Float = 0
                    let base = i * channels
                    for c in 0..<channels { sum += src[base + c] }
                    mono[i] = sum * scale
                }
            }
        }
        framesRead += Int64(got)
        return got
    }

    private static func trimmed(_ message: String) -> String {
        message.trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: ".")))
    }

    /// libsndfile notes in its log when a chunk's declared size exceeds what the file holds,
    /// as `data : 2147352576 (should be 56)`. A data chunk that claims more than is there means
    /// the file is truncated or its header lies.
    private static func declaredShortfall(logOf handle: OpaquePointer) -> (chunk: String, declared: Int64, actual: Int64)? {
        var log = [CChar](repeating: 0, count: 8192)
        _ = sf_command(handle, Int32(SFC_GET_LOG_INFO), &log, Int32(log.count))
        let text = log.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, ["data", "SSND", "ds64"].contains(parts[0]) else { continue }
            let scanner = Scanner(string: parts[1])
            guard let declared = scanner.scanInt64(),
                scanner.scanString("(should be") != nil,
                let actual = scanner.scanInt64()
            else { continue }
            if declared > actual { return (parts[0], declared, actual) }
        }
        return nil
    }
}
