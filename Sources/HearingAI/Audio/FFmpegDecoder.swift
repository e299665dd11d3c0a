import Foundation

/// One audio stream of a file decoded by FFmpeg in a confined child (``ChildProcess``), read
/// from a pipe as 16 kHz mono signed 16-bit samples, block by block.
///
/// Neither the file nor its audio is ever held whole: FFmpeg streams, the pipe holds 64 KB,
/// and each read hands on one block. The time range is FFmpeg's (`-ss` before the input
/// seeks, `-t` stops), so a late start does not decode what comes before it. Not thread-safe
/// except ``child``'s `interrupt()` and `kill(because:)`: confine to one ``BlockingThread``,
/// the one that created it (the child is killed if that thread exits).
final class FFmpegDecoder {
    let path: String
    /// The stream decoded.
    let stream: MediaProbe.Stream
    /// The running child; its `interrupt()` may be called from any thread.
    let child: ChildProcess
    private let stallTimeout: Duration
    /// Seconds the container declares for this stream from the start time, when it declares
    /// them and the run reads to the end: what the decoded length is checked against.
    private let declaredRemaining: Double?
    private var bytes = [UInt8](repeating: 0, count: 32_768)
    private var carry: UInt8?
    private var finished = false
    /// Samples read so far.
    private(set) var samplesRead: Int64 = 0

    /// Starts decoding audio stream `stream` of `path` from `startTime` for `duration` seconds
    /// (nil: to the end), allowing FFmpeg CPU time for `plausibleSeconds` of audio.
    init(
        path: String, tools: FFmpegTools, probe: MediaProbe, stream: MediaProbe.Stream, audioStreamIndex: Int, startTime: Double,
        duration: Double?, plausibleSeconds: Double, stallTimeout: Duration
    ) throws {
        self.path = path
        self.stream = stream
        self.stallTimeout = stallTimeout
        // Only containers with an index state a stream's length; for raw streams (AMR, ADTS
        // AAC) FFmpeg estimates it from the bit rate, which proves nothing.
        let indexed =
            probe.format?.formatName?.split(separator: ",").contains { FFmpegTools.indexedContainers.contains(String($0)) } ?? false
        declaredRemaining = duration == nil && indexed ? stream.seconds.map { $0 - startTime } : nil
        var arguments = ["-nostdin", "-hide_banner", "-nostats", "-loglevel", "error"]
        if startTime > 0 { arguments += ["-ss", String(format: "%.6f", startTime)] }
        arguments += FFmpegTools.inputArguments(path: path)
        if let duration { arguments += ["-t", String(format: "%.6f", duration)] }
        arguments += [
            "-map", "0:a:\(audioStreamIndex)", "-vn", "-sn", "-dn",
            // libsoxr, as for the files libsndfile reads; FFmpeg's own down-mix to mono.
            "-af", "aresample=\(ChunkPlan.sampleRate):resampler=soxr", "-ac", "1", "-ar", "\(ChunkPlan.sampleRate)",
            "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1",
        ]
        child = try ChildProcess(
            executable: tools.ffmpeg, arguments: arguments,
            limits: ChildProcess.Limits(
                addressSpaceBytes: FFmpegTools.addressSpaceBytes, cpuSeconds: FFmpegTools.cpuSeconds(forAudioSeconds: plausibleSeconds)))
    }

    /// Replaces `output`'s contents with the next samples (at most `maxSamples`). Returns false
    /// at the end, once FFmpeg has exited cleanly; its failure is thrown as a ``HearingAIError``
    /// naming the file, its interruption as `CancellationError`.
    func read(into output: inout [Int16], maxSamples: Int) throws -> Bool {
        output.removeAll(keepingCapacity: true)
        guard !finished else { return false }
        let want = min(bytes.count, max(2, maxSamples * 2))
        let got: Int
        do {
            got = try bytes.withUnsafeMutableBytes {
                try child.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), stallTimeout: stallTimeout)
            }
        } catch let failure as ChildProcess.ReadFailure {
            _ = child.wait(timeout: .seconds(5))
            throw FFmpegTools.error(for: failure, program: "ffmpeg", path: path, errorOutput: child.errorOutput)
        }
        if got == 0 {
            finished = true
            try finish()
            return false
        }
        output.reserveCapacity(got / 2 + 1)
        var index = 0
        if let low = carry {
            output.append(Int16(bitPattern: UInt16(low) | UInt16(bytes[0]) << 8))
            carry = nil
            index = 1
        }
        while index + 1 < got {
            output.append(Int16(bitPattern: UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8))
            index += 2
        }
        if index < got { carry = bytes[index] }
        samplesRead += Int64(output.count)
        // A read that held only half a sample is not the end: read again.
        if output.isEmpty { return try read(into: &output, maxSamples: maxSamples) }
        return true
    }

    /// Seconds decoded so far.
    var secondsRead: Double { Double(samplesRead) / Double(ChunkPlan.sampleRate) }

    /// After the end of the output: how FFmpeg ended decides whether the audio is whole.
    private func finish() throws {
        let termination = child.wait(timeout: stallTimeout)
        let said = FFmpegTools.summary(of: child.errorOutput, path: path)
        let decoded = AudioStream.seconds(secondsRead)
        switch termination {
        case .exited(0):
            break
        case .exited:
            let what = said.isEmpty ? "\(termination)" : said
            if samplesRead == 0 {
                throw HearingAIError(.notAudio, path: path, reason: "ffmpeg cannot decode it: \(what)")
            }
            throw HearingAIError(.truncatedAudio, path: path, reason: "ffmpeg stopped after \(decoded) s: \(what)")
        case .signalled(let signal):
            throw FFmpegTools.crashError(
                program: "ffmpeg", signal: signal, path: path, said: said, killReason: child.killReason, decodedSeconds: secondsRead)
        }
        // A clean exit with less audio than the container declares for the stream: the file
        // is cut short, or its header lies. Compressed streams' durations are estimates; allow
        // a second or 5%.
        if let declared = declaredRemaining, declared - secondsRead > max(1, declared * 0.05) {
            throw HearingAIError(
                .truncatedAudio, path: path,
                reason:
                    "truncated or lying header: the container declares \(AudioStream.seconds(declared)) s of audio but only \(decoded) s could be decoded"
                    + (said.isEmpty ? "" : " (ffmpeg: \(said))"))
        }
    }
}
