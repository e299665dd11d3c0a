import Foundation

/// Debian's `ffmpeg` and `ffprobe`, found on `PATH`, and the rules HearingAI runs them by.
///
/// FFmpeg reads what libsndfile cannot — M4A/AAC, MP4, MOV, MKV, WebM, WMA, AMR — but it is a
/// large C program facing files from anywhere, so it runs as a confined child
/// (``ChildProcess``): resource limits, its own process group, no shell, no descriptor of
/// ours, only local files (`-protocol_whitelist file`) and only the demuxers of recordings
/// (``demuxers``: no playlists, no concatenation lists, no image sequences, no devices).
struct FFmpegTools: Sendable, Hashable {
    /// The `ffmpeg` executable.
    var ffmpeg: String
    /// The `ffprobe` executable.
    var ffprobe: String

    /// Both programs from the first directory of `searchPath` (`PATH`) that holds them, or nil.
    static func locate(searchPath: String? = ProcessInfo.processInfo.environment["PATH"]) -> FFmpegTools? {
        let directories = (searchPath ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for directory in directories where directory.hasPrefix("/") {
            let tools = FFmpegTools(ffmpeg: directory + "/ffmpeg", ffprobe: directory + "/ffprobe")
            if access(tools.ffmpeg, X_OK) == 0, access(tools.ffprobe, X_OK) == 0 { return tools }
        }
        return nil
    }

    /// The demuxers FFmpeg may use: containers of audio and video recordings.
    static let demuxers = [
        "aac", "ac3", "aiff", "amr", "amrnb", "amrwb", "ape", "asf", "au", "avi", "caf", "dsf", "dts", "dtshd", "dv",
        "eac3", "flac", "flv", "g722", "g723_1", "g729", "gsm", "ilbc", "loas", "matroska", "mlp", "mov", "mp3", "mpc",
        "mpc8", "mpeg", "mpegts", "mxf", "nut", "ogg", "oma", "qcp", "rm", "shn", "tak", "truehd", "tta", "voc", "w64",
        "wav", "wtv", "wv", "xwma",
    ]

    /// Demuxers whose files record each stream's length in an index or header, so that
    /// decoding less than that means the file is cut short or lies.
    static let indexedContainers: Set<String> = ["mov", "mp4", "m4a", "3gp", "avi", "wav", "w64", "caf", "aiff"]

    /// The options that open `path` as a local file through the allowed demuxers. `file:`
    /// keeps a name such as `concat:x|y` or `http:...` from naming a protocol.
    static func inputArguments(path: String) -> [String] {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return ["-protocol_whitelist", "file", "-format_whitelist", demuxers.joined(separator: ","), "-i", "file:" + absolute]
    }

    // MARK: - Limits

    /// RLIMIT_AS for either program. Debian's ffmpeg maps its ~300 libraries at start-up and
    /// needs 272 MB of address space to decode any of the fixtures (scripts/bench-ffmpeg.sh);
    /// past 512 MB an allocation fails inside the child.
    static let addressSpaceBytes = 512 * 1_048_576

    /// CPU seconds the decoder may use: 30 plus a quarter of a second per second of audio.
    /// FFmpeg decodes these codecs at 100–1000 times real time, so only a decoder stuck in
    /// a loop reaches it.
    static func cpuSeconds(forAudioSeconds seconds: Double) -> Int {
        30 + Int((max(0, seconds) * 0.25).rounded(.up))
    }

    /// The probe's limits: it reads headers, not audio.
    static let probeLimits = ChildProcess.Limits(addressSpaceBytes: addressSpaceBytes, cpuSeconds: 30)

    /// The least bit rate HearingAI believes of a file's audio: 500 bit/s, below every speech
    /// codec FFmpeg decodes but Codec2's slowest mode. A declared duration longer than the
    /// file's size allows at this rate is not believed (``plausibleSeconds(declared:fileBytes:)``).
    static let leastBytesPerSecond = 62.5

    /// The duration used for progress, admission and the CPU limit: the declared one, but at
    /// most what the file's size could hold.
    static func plausibleSeconds(declared: Double?, fileBytes: Int64) -> Double {
        let bound = Double(fileBytes) / leastBytesPerSecond
        guard let declared else { return bound }
        return min(declared, bound)
    }

    // MARK: - Errors

    /// What a program wrote to standard error, as one short line: the last few distinct lines,
    /// without the `file:PATH: ` prefix or the `@ 0x…` addresses.
    static func summary(of errorOutput: String, path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var lines: [String] = []
        for raw in errorOutput.split(whereSeparator: \.isNewline) {
            var line = raw.replacingOccurrences(of: "file:" + absolute + ": ", with: "")
                .replacingOccurrences(of: "file:" + absolute, with: "the file")
            line = line.replacingOccurrences(of: #" @ 0x[0-9a-f]+\]"#, with: "]", options: .regularExpression)
                .trimmingCharacters(in: .whitespaces)
            // FFmpeg's log folds repeats into "Last message repeated N times": noise here.
            if line.isEmpty || lines.last == line || line.hasPrefix("Last message repeated") { continue }
            lines.removeAll { $0 == line }
            lines.append(line)
        }
        let kept = lines.suffix(3).joined(separator: "; ")
        return kept.count > 400 ? "…" + kept.suffix(399) : kept
    }

    /// The error for a read that did not finish: a stall or an interruption.
    static func error(for failure: ChildProcess.ReadFailure, program: String, path: String, errorOutput: String) -> any Error {
        switch failure {
        case .interrupted:
            return CancellationError()
        case .stalled(let seconds):
            let said = summary(of: errorOutput, path: path)
            return HearingAIError(
                .decoderInterrupted, path: path,
                reason: "\(program) produced nothing for \(Int(seconds)) s and was killed (ffmpeg_stall_timeout)"
                    + (said.isEmpty ? "" : "; it said: \(said)"))
        }
    }

    /// The error for a program that a signal ended. SIGKILL that HearingAI did not send (the
    /// kernel's OOM killer, an administrator) may not happen again; a crash or a resource
    /// limit will.
    static func crashError(
        program: String, signal: Int32, path: String, said: String, killReason: ChildProcess.KillReason?, decodedSeconds: Double? = nil
    ) -> any Error {
        if killReason == .interrupted || killReason == .closed { return CancellationError() }
        let signalName = String(cString: strsignal(signal))
        let progress = decodedSeconds.map { " after \(AudioStream.seconds($0)) s of audio" } ?? ""
        let tail = progress + (said.isEmpty ? "" : "; it said: \(said)")
        switch signal {
        case SIGXCPU:
            return HearingAIError(.decoderFailed, path: path, reason: "\(program) exceeded its CPU time limit and was stopped\(tail)")
        case SIGKILL, SIGTERM, SIGINT, SIGHUP:
            return HearingAIError(
                .decoderInterrupted, path: path, reason: "\(program) was killed by signal \(signal) (\(signalName))\(tail)")
        default:
            return HearingAIError(.decoderFailed, path: path, reason: "\(program) crashed with signal \(signal) (\(signalName))\(tail)")
        }
    }
}
