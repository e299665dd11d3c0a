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
    /// Bytes of a frame not yet complete at the end of the last read.
    private var carry: [UInt8] = []
    private var finished = false
    /// Channels in FFmpeg's output: 1 (FFmpeg mixes down), or the stream's own when each
    /// channel's level is measured here before the mix.
    let outputChannels: Int
    /// Each channel's level, when measured (``ChannelLevels``).
    let channelLevels: ChannelLevels?
    private var interleaved: [Float] = []
    /// Samples read so far.
    private(set) var samplesRead: Int64 = 0

    /// Starts decoding audio stream `stream` of `path` from `startTime` for `duration` seconds
    /// (nil: to the end), allowing FFmpeg CPU time for `plausibleSeconds` of audio. With
    /// `channelLevels`, FFmpeg hands on every channel and they are measured and mixed here.
    init(
        path: String, tools: FFmpegTools, probe: MediaProbe, stream: MediaProbe.Stream, audioStreamIndex: Int, startTime: Double,
        duration: Double?, plausibleSeconds: Double, stallTimeout: Duration, channelLevels: ChannelLevels? = nil
    ) throws {
        self.path = path
        self.stream = stream
        self.stallTimeout = stallTimeout
        self.channelLevels = channelLevels
        outputChannels = channelLevels?.channels ?? 1
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
            // libsoxr, as for the files libsndfile reads; FFmpeg's own down-mix to mono unless
            // the channels are measured here.
            "-af", "aresample=\(ChunkPlan.sampleRate):resampler=soxr", "-ac", "\(outputChannels)", "-ar", "\(ChunkPlan.sampleRate)",
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
        let want = min(bytes.count, max(2 * outputChannels, maxSamples * 2 * outputChannels))
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
            channelLevels?.finish()
            return false
        }
        // Whole frames only: a frame cut by the read waits in `carry` for the rest.
        let frameBytes = 2 * outputChannels
        var data = carry
        data.append(contentsOf: bytes[0..<got])
        let whole = data.count / frameBytes * frameBytes
        carry = Array(data[whole...])
        let frames = whole / frameBytes
        output.reserveCapacity(frames)
        if let channelLevels {
            let channels = outputChannels
            if interleaved.count < frames * channels { interleaved = [Float](repeating: 0, count: frames * channels) }
            for i in 0..<(frames * channels) {
                interleaved[i] = Float(Int16(bitPattern: UInt16(data[2 * i]) | UInt16(data[2 * i + 1]) << 8)) / 32768
            }
            interleaved.withUnsafeBufferPointer { channelLevels.measure($0, frames: frames) }
            // The mix, as FFmpeg's own down-mix makes it: the mean of the channels.
            for f in 0..<frames {
                var sum: Float = 0
                for c in 0..<channels { sum += interleaved[f * channels + c] }
                output.append(Int16(max(-32768, min(32767, (sum / Float(channels) * 32768).rounded()))))
            }
        } else {
            for i in 0..<frames {
                output.append(Int16(bitPattern: UInt16(data[2 * i]) | UInt16(data[2 * i + 1]) << 8))
            }
        }
        samplesRead += Int64(output.count)
        // A read that held only part of a frame is not the end: read again.
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
