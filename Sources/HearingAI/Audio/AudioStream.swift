import Foundation

/// Reads an audio file as 16 kHz mono 16-bit samples, block by block.
///
/// What libsndfile reads (WAV, BWF, RF64, AIFF, FLAC, Ogg, Opus, MP3) it decodes in process,
/// down-mixes to mono and resamples with libsoxr. Anything else — M4A/AAC, MP4, MOV, MKV,
/// WebM, WMA, AMR — FFmpeg decodes in a confined child (``FFmpegDecoder``) straight to 16 kHz
/// mono through a pipe. Either way only a block is held at a time. Not thread-safe: confine
/// to one ``BlockingThread``.
final class AudioStream {
    /// Input frames decoded per block (a fixed buffer, whatever the header says).
    static let blockFrames = 8_192

    /// How the samples are read.
    private enum Reader {
        case libsndfile(AudioFile, Resampler?)
        case ffmpeg(FFmpegDecoder)
    }

    let path: String
    /// The input's format, as libsndfile or ffprobe describes it.
    let info: AudioFormatInfo
    private let reader: Reader
    private var mono: [Float] = []
    private var interleaved: [Float] = []
    private var resampled: [Float] = []
    private var remainingInputFrames: Int64?
    private var finished = false
    /// Samples produced so far, at 16 kHz, counted from `startTime`.
    private(set) var samplesProduced: Int64 = 0

    /// Seconds of audio the stream will produce: from the header's frame count, or from the
    /// probe's duration for FFmpeg (at most what the file's size could hold).
    let expectedDuration: Double

    /// FFmpeg's child, when FFmpeg decodes the file: its `interrupt()` and `kill(because:)`
    /// may be called from any thread.
    var child: ChildProcess? {
        if case .ffmpeg(let decoder) = reader { return decoder.child }
        return nil
    }

    /// Each channel's level, measured before the down-mix, when asked for and the file has
    /// more than one channel (``ChannelDiarizer``).
    let channelLevels: ChannelLevels?

    /// The codec FFmpeg decodes, or nil for libsndfile.
    var ffmpegCodec: String? {
        if case .ffmpeg(let decoder) = reader { return decoder.stream.codecName ?? "unknown" }
        return nil
    }

    /// Opens `path`, with libsndfile or else FFmpeg, positioned at `startTime`; stops at
    /// `endTime` if given. `audioStream` picks an audio stream other than the first (FFmpeg).
    convenience init(
        path: String, startTime: Double = 0, endTime: Double? = nil, audioStream: Int? = nil,
        stallTimeout: Double = PipelineConfiguration.defaultFFmpegStallTimeout
    ) throws {
        if let file = try Self.openNative(path: path, audioStream: audioStream) {
            try self.init(file: file, startTime: startTime, endTime: endTime)
        } else {
            try self.init(
                ffmpegPath: path, startTime: startTime, endTime: endTime, audioStream: audioStream, stallTimeout: stallTimeout)
        }
    }

    /// `path` open in libsndfile, or nil when libsndfile does not recognise its format (FFmpeg's
    /// turn). Other failures — missing, empty, truncated — are thrown.
    static func openNative(path: String, audioStream: Int?) throws -> AudioFile? {
        let file: AudioFile
        do {
            file = try AudioFile(path: path)
        } catch let error as HearingAIError where error.code == .notAudio && error.reason.hasPrefix(AudioFile.unrecognisedReason) {
            return nil
        }
        if let audioStream, audioStream > 0 {
            throw HearingAIError(
                .invalidOptions, path: path,
                reason:
                    "--audio-stream \(audioStream) asks for audio stream \(audioStream + 1), but the file has one (streams count from 0)")
        }
        return file
    }

    /// Reads `file` (open in libsndfile) from `startTime` to `endTime`; with `measureChannels`,
    /// measures each channel's level as well (``channelLevels``) when it has more than one.
    init(file: AudioFile, startTime: Double = 0, endTime: Double? = nil, measureChannels: Bool = false) throws {
        path = file.path
        info = file.info
        let rate = Double(file.info.sampleRate)
        let resampler =
            file.info.sampleRate == ChunkPlan.sampleRate ? nil : try Resampler(inputRate: rate, outputRate: Double(ChunkPlan.sampleRate))
        reader = .libsndfile(file, resampler)
        let startFrame = Int64((startTime * rate).rounded())
        if startFrame > 0 {
            guard file.info.frames <= 0 || startFrame < file.info.frames else {
                throw HearingAIError(
                    .noAudio, path: path, reason: "start time \(startTime) s is past the end (\(Self.seconds(file.info.duration)) s)")
            }
            try file.seek(toFrame: startFrame)
        }
        var end = file.info.frames > 0 ? file.info.frames : Int64.max
        if let endTime {
            end = min(end, Int64((endTime * rate).rounded()))
        }
        remainingInputFrames = end == Int64.max ? nil : max(0, end - startFrame)
        expectedDuration = remainingInputFrames.map { Double($0) / rate } ?? 0
        channelLevels =
            measureChannels && file.info.channels > 1
            ? ChannelLevels(channels: file.info.channels, inputRate: file.info.sampleRate, expectedSeconds: expectedDuration) : nil
    }

    /// Reads `path` with FFmpeg: probes it, picks audio stream `audioStream` (the first by
    /// default), and starts the decoder at `startTime`. Fails with one line naming the file
    /// when FFmpeg is not installed, cannot read it, or finds no audio stream in it.
    init(
        ffmpegPath path: String, startTime: Double = 0, endTime: Double? = nil, audioStream: Int? = nil,
        stallTimeout: Double = PipelineConfiguration.defaultFFmpegStallTimeout,
        searchPath: String? = ProcessInfo.processInfo.environment["PATH"], measureChannels: Bool = false
    ) throws {
        self.path = path
        let name = URL(fileURLWithPath: path).pathExtension
        guard let tools = FFmpegTools.locate(searchPath: searchPath) else {
            throw HearingAIError(
                .notAudio, path: path,
                reason:
                    "not a format libsndfile reads; install ffmpeg to read \(name.isEmpty ? "this format" : ".\(name.lowercased()) files")")
        }
        let timeout = Duration.milliseconds(Int64(stallTimeout * 1000))
        let probe: MediaProbe
        do {
            probe = try MediaProbe.run(path: path, tools: tools, stallTimeout: timeout)
        } catch let error as HearingAIError where error.code == .notAudio {
            throw HearingAIError(
                .notAudio, path: path, reason: "\(AudioFile.unrecognisedReason) (libsndfile does not read it; \(error.reason))")
        }
        let streams = probe.audioStreams
        guard !streams.isEmpty else {
            throw HearingAIError(.noAudio, path: path, reason: "no audio stream (the file holds \(probe.streamSummary))")
        }
        let index = audioStream ?? 0
        guard streams.indices.contains(index) else {
            throw HearingAIError(
                .invalidOptions, path: path,
                reason:
                    "--audio-stream \(index) asks for audio stream \(index + 1), but the file has \(streams.count) (streams count from 0)")
        }
        let stream = streams[index]
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        let plausible = FFmpegTools.plausibleSeconds(declared: stream.seconds ?? probe.declaredSeconds, fileBytes: fileBytes)
        guard startTime == 0 || startTime < plausible else {
            throw HearingAIError(.noAudio, path: path, reason: "start time \(startTime) s is past the end (\(Self.seconds(plausible)) s)")
        }
        let duration = endTime.map { $0 - startTime }
        info = AudioFormatInfo(
            sampleRate: stream.sampleRate.flatMap { Int($0) } ?? ChunkPlan.sampleRate,
            channels: stream.channels ?? 1,
            frames: Int64(plausible * Double(stream.sampleRate.flatMap { Int($0) } ?? ChunkPlan.sampleRate)),
            formatName:
                "\(probe.format?.formatLongName ?? probe.format?.formatName ?? "unknown") / \(stream.codecLongName ?? stream.codecName ?? "unknown") (FFmpeg)"
        )
        expectedDuration = max(0, min(plausible - startTime, duration ?? .infinity))
        let channels = min(stream.channels ?? 1, AudioFile.Limits.maxChannels)
        let levels =
            measureChannels && channels > 1
            ? ChannelLevels(channels: channels, inputRate: ChunkPlan.sampleRate, expectedSeconds: expectedDuration) : nil
        channelLevels = levels
        reader = .ffmpeg(
            try FFmpegDecoder(
                path: path, tools: tools, probe: probe, stream: stream, audioStreamIndex: index, startTime: startTime, duration: duration,
                plausibleSeconds: plausible, stallTimeout: timeout, channelLevels: levels))
    }

    /// Reads the next block into `output` (replacing its contents). Returns false at the end.
    func read(into output: inout [Int16]) throws -> Bool {
        output.removeAll(keepingCapacity: true)
        guard case .libsndfile(let file, let resampler) = reader else {
            guard !finished, case .ffmpeg(let decoder) = reader else { return false }
            if try decoder.read(into: &output, maxSamples: Self.blockFrames) {
                samplesProduced += Int64(output.count)
                return true
            }
            finished = true
            return false
        }
        while output.isEmpty {
            if finished { return false }
            var want = Self.blockFrames
            if let remaining = remainingInputFrames { want = Int(min(Int64(want), remaining)) }
            let got = want > 0 ? try file.readMono(into: &mono, interleaved: &interleaved, frameCount: want) : 0
            if let remaining = remainingInputFrames { remainingInputFrames = remaining - Int64(got) }
            if let channelLevels, got > 0 {
                interleaved.withUnsafeBufferPointer { channelLevels.measure($0, frames: got) }
            }
            let atEnd = got == 0
            if atEnd {
                finished = true
                try checkComplete(file)
                channelLevels?.finish()
            }
            if let resampler {
                resampled.removeAll(keepingCapacity: true)
                if got > 0 {
                    try mono.withUnsafeBufferPointer { try resampler.process($0.baseAddress, count: got, into: &resampled) }
                }
                if atEnd { try resampler.process(nil, count: 0, flush: true, into: &resampled) }
                Self.convert(resampled[...], into: &output)
            } else {
                Self.convert(mono[0..<got], into: &output)
            }
        }
        samplesProduced += Int64(output.count)
        return true
    }

    /// A header that declared more frames than could be read means a truncated file.
    private func checkComplete(_ file: AudioFile) throws {
        guard let remaining = remainingInputFrames, remaining > 0 else { return }
        let rate = Double(file.info.sampleRate)
        // Compressed formats report estimated lengths; allow a tenth of a second of slack.
        guard Double(remaining) > rate / 10 else { return }
        throw HearingAIError(
            .truncatedAudio, path: file.path,
            reason:
                "truncated: the header declares \(Self.seconds(file.info.duration)) s but only \(Self.seconds(Double(file.framesRead) / rate)) s could be read"
        )
    }

    private static func convert(_ samples: ArraySlice<Float>, into output: inout [Int16]) {
        output.reserveCapacity(output.count + samples.count)
        for sample in samples {
            let scaled = (sample * 32767).rounded()
            output.append(Int16(max(-32768, min(32767, scaled))))
        }
    }

    static func seconds(_ value: Double) -> String {
        String(format: "%.2f", value)
    }
}
