import Foundation

/// Reads an audio file as 16 kHz mono 16-bit samples, block by block.
///
/// It decodes with libsndfile, down-mixes to mono and resamples with libsoxr, holding only a
/// block at a time. Not thread-safe: confine to one ``BlockingThread``.
final class AudioStream {
    /// Input frames decoded per block (a fixed buffer, whatever the header says).
    static let blockFrames = 8_192

    let file: AudioFile
    private let resampler: Resampler?
    private var mono: [Float] = []
    private var interleaved: [Float] = []
    private var resampled: [Float] = []
    private var remainingInputFrames: Int64?
    private var finished = false
    /// Samples produced so far, at 16 kHz, counted from `startTime`.
    private(set) var samplesProduced: Int64 = 0

    /// Seconds of audio the stream will produce, from the header's frame count.
    let expectedDuration: Double

    /// Opens `path` and positions it at `startTime`; stops at `endTime` if given.
    init(path: String, startTime: Double = 0, endTime: Double? = nil) throws {
        file = try AudioFile(path: path)
        let rate = Double(file.info.sampleRate)
        resampler =
            file.info.sampleRate == ChunkPlan.sampleRate ? nil : try Resampler(inputRate: rate, outputRate: Double(ChunkPlan.sampleRate))
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
    }

    /// Reads the next block into `output` (replacing its contents). Returns false at the end.
    func read(into output: inout [Int16]) throws -> Bool {
        output.removeAll(keepingCapacity: true)
        while output.isEmpty {
            if finished { return false }
            var want = Self.blockFrames
            if let remaining = remainingInputFrames { want = Int(min(Int64(want), remaining)) }
            let got = want > 0 ? try file.readMono(into: &mono, interleaved: &interleaved, frameCount: want) : 0
            if let remaining = remainingInputFrames { remainingInputFrames = remaining - Int64(got) }
            let atEnd = got == 0
            if atEnd {
                finished = true
                try checkComplete()
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
    private func checkComplete() throws {
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
