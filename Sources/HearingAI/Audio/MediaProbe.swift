import Foundation

/// What `ffprobe` reports about a file: its container, duration and streams.
///
/// The probe runs as a confined child like the decoder (``FFmpegTools``), and its JSON is
/// read through a bounded buffer: a file that claims thousands of streams cannot make it
/// large.
struct MediaProbe: Sendable, Decodable {
    /// One stream of the file.
    struct Stream: Sendable, Decodable {
        /// The stream's index in the file (all kinds counted).
        var index: Int
        /// "audio", "video", "subtitle", "data", ...
        var codecType: String?
        /// FFmpeg's short codec name, such as "aac".
        var codecName: String?
        /// FFmpeg's long codec name, such as "AAC (Advanced Audio Coding)".
        var codecLongName: String?
        /// Samples per second, as text (FFmpeg's JSON quotes it).
        var sampleRate: String?
        /// Channels.
        var channels: Int?
        /// The stream's own duration in seconds, as text, when the container records one.
        var duration: String?
        /// Tags such as language and title.
        var tags: [String: String]?

        var isAudio: Bool { codecType == "audio" }
        var seconds: Double? { duration.flatMap(Double.init).flatMap { $0.isFinite && $0 > 0 ? $0 : nil } }
    }

    /// The container.
    struct Format: Sendable, Decodable {
        /// FFmpeg's demuxer names, such as "mov,mp4,m4a,3gp,3g2,mj2".
        var formatName: String?
        /// A description, such as "QuickTime / MOV".
        var formatLongName: String?
        /// The container's duration in seconds, as text.
        var duration: String?
    }

    var streams: [Stream]
    var format: Format?

    private enum CodingKeys: String, CodingKey { case streams, format }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // ffprobe leaves out what a file does not have.
        streams = try container.decodeIfPresent([Stream].self, forKey: .streams) ?? []
        format = try container.decodeIfPresent(Format.self, forKey: .format)
    }

    /// The audio streams, in file order: `--audio-stream N` picks the Nth.
    var audioStreams: [Stream] { streams.filter(\.isAudio) }

    /// The container's declared duration, if it gave a usable one.
    var declaredSeconds: Double? {
        format?.duration.flatMap(Double.init).flatMap { $0.isFinite && $0 > 0 ? $0 : nil }
    }

    /// The streams as a short list for messages: "video (h264), subtitle (mov_text)".
    var streamSummary: String {
        streams.isEmpty
            ? "no streams" : streams.map { "\($0.codecType ?? "unknown") (\($0.codecName ?? "unknown"))" }.joined(separator: ", ")
    }

    /// The most JSON a probe may print.
    static let maxOutputBytes = 1 << 20

    /// Probes `path` with `tools.ffprobe`. Errors name the file: one it cannot open is
    /// ``HearingAIError/Code/notAudio`` with what ffprobe said.
    static func run(path: String, tools: FFmpegTools, stallTimeout: Duration) throws -> MediaProbe {
        let arguments =
            ["-hide_banner", "-loglevel", "error", "-of", "json"]
            + [
                "-show_entries",
                "format=format_name,format_long_name,duration"
                    + ":stream=index,codec_type,codec_name,codec_long_name,sample_rate,channels,duration"
                    + ":stream_tags=language,title",
            ]
            + FFmpegTools.inputArguments(path: path)
        let child = try ChildProcess(executable: tools.ffprobe, arguments: arguments, limits: FFmpegTools.probeLimits)
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 16_384)
        do {
            while true {
                let got = try buffer.withUnsafeMutableBytes { try child.read(into: $0, stallTimeout: stallTimeout) }
                if got == 0 { break }
                output.append(contentsOf: buffer[0..<got])
                guard output.count <= maxOutputBytes else {
                    child.kill(because: .closed)
                    _ = child.wait(timeout: .seconds(5))
                    throw HearingAIError(
                        .notAudio, path: path, reason: "ffprobe described more than \(maxOutputBytes / 1024) KB of streams")
                }
            }
        } catch let failure as ChildProcess.ReadFailure {
            _ = child.wait(timeout: .seconds(5))
            throw FFmpegTools.error(for: failure, program: "ffprobe", path: path, errorOutput: child.errorOutput)
        }
        let termination = child.wait(timeout: stallTimeout)
        let said = FFmpegTools.summary(of: child.errorOutput, path: path)
        switch termination {
        case .exited(0):
            break
        case .exited:
            throw HearingAIError(.notAudio, path: path, reason: "ffprobe cannot read it: \(said.isEmpty ? "\(termination)" : said)")
        case .signalled(let signal):
            throw FFmpegTools.crashError(program: "ffprobe", signal: signal, path: path, said: said, killReason: child.killReason)
        }
        do {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(MediaProbe.self, from: Data(output))
        } catch {
            throw HearingAIError(.notAudio, path: path, reason: "ffprobe's description does not parse: \(error)")
        }
    }
}
