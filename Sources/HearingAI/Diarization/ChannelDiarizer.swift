import Foundation

/// Speakers from channels: in a studio session each microphone has a channel of its own, so
/// each channel is one speaker (`speaker_per_channel`).
///
/// Every channel is voice-activity-detected on its own level (``ChannelLevels``, 10 ms frames,
/// power smoothed over 50 ms) against a threshold set from its own noise floor and speech
/// level, the same rule the voice diarizer uses
/// (``DiarizationService/speechThreshold(floor:peak:)``). Bleed, a voice heard on the other
/// microphones, is told from speech by how each channel is heard on each other: first, over the
/// frames where a channel is the loudest speaking, the median of every other channel's level
/// under it is how it bleeds into that channel (-20 dB for microphones a metre apart, -8 dB for
/// lavaliers side by side); then a channel quieter than a louder one speaking is itself
/// speaking only when it is at least ``bleedMargin`` above that bleed. So a voice heard on a
/// neighbour is not the neighbour speaking, whatever the distance, while two people talking
/// over each other both are. Each channel's speech is then bridged over short gaps and cleared
/// of short bursts, as the voice diarizer does, and becomes its turns; turns of different
/// channels may overlap.
///
/// It holds the levels it is given, a histogram of level differences for each pair of
/// channels (512 bytes a pair) and the turns it makes.
public enum ChannelDiarizer {
    /// How far above the bleed expected from a louder channel a channel must be to be speaking
    /// beside it, in dB.
    public static let bleedMargin = 6.0
    /// The bleed assumed between two channels when one has been the loudest speaking for
    /// under half a second, too little to measure: a channel then speaks beside a louder one
    /// within 10 dB of it.
    static let unmeasuredBleed = -16.0
    /// Frames of the moving average over each channel's level (50 ms).
    static let smoothingFrames = 5
    /// Bins of the level-difference histograms: 1 dB each, from 0 down to -127 dB.
    static let differenceBins = 128

    /// Bytes the pair histograms take for `channels` channels.
    public static func workingBytes(channels: Int) -> Int { channels * channels * differenceBins * 4 }

    /// The label of channel `index` (from 0): its name from `names`, or "Speaker N" with N the
    /// channel's number, so that a channel keeps its label from file to file.
    public static func label(ofChannel index: Int, names: [String]) -> String {
        index < names.count ? names[index] : "Speaker \(index + 1)"
    }

    /// The turns of each channel of a finished measurement, which it takes (``ChannelLevels``
    /// keeps no levels after this).
    static func turns(of levels: ChannelLevels, names: [String] = [], fileOffset: Double = 0) -> [SpeakerTurn] {
        turns(levels: levels.take(), channels: levels.channels, names: names, fileOffset: fileOffset)
    }

    /// The turns of each channel in `levels` (frame-major, `channels` bytes a frame, as
    /// ``ChannelLevels`` stores them), in time order; `fileOffset` is where the levels start on
    /// the file's clock.
    public static func turns(levels: [UInt8], channels: Int, names: [String] = [], fileOffset: Double = 0) -> [SpeakerTurn] {
        guard channels > 0 else { return [] }
        let frames = levels.count / channels
        guard frames > 0 else { return [] }

        // Each channel's threshold from the histogram of its levels: noise floor at the 10th
        // percentile, speech level at the 95th, as the voice diarizer sets its own.
        let thresholds = (0..<channels).map { c -> Double in
            var histogram = [Int](repeating: 0, count: 256)
            for f in 0..<frames { histogram[Int(levels[f * channels + c])] += 1 }
            func percentile(_ rank: Int) -> Double {
                var seen = 0
                for (level, count) in histogram.enumerated() {
                    seen += count
                    if seen > rank { return ChannelLevels.decibels(ofLevel: UInt8(level)) }
                }
                return ChannelLevels.decibels(ofLevel: 255)
            }
            return DiarizationService.speechThreshold(
                floor: percentile(frames / 10), peak: percentile(frames - 1 - frames / 20))
        }

        // Smoothed as power, not decibels, so that the ratio between two channels holds at the
        // edges of a word, where speech and silence share the average.
        let power = (0...255).map { pow(10, ChannelLevels.decibels(ofLevel: UInt8($0)) / 10) }
        let half = smoothingFrames / 2
        func smooth(_ f: Int, into smoothed: inout [Double]) {
            let lower = max(0, f - half)
            let upper = min(frames, f + half + 1)
            for c in 0..<channels {
                var sum = 0.0
                for g in lower..<upper { sum += power[Int(levels[g * channels + c])] }
                smoothed[c] = 10 * log10(sum / Double(upper - lower))
            }
        }
        var smoothed = [Double](repeating: 0, count: channels)

        // How each channel is heard on each other: over the frames where channel i is the
        // loudest speaking, the median of channel j's level under it.
        var histogram = [UInt32](repeating: 0, count: channels * channels * differenceBins)
        for f in 0..<frames {
            smooth(f, into: &smoothed)
            var loudest: Int?
            for c in 0..<channels where smoothed[c] > thresholds[c] {
                if loudest.map({ smoothed[c] > smoothed[$0] }) ?? true { loudest = c }
            }
            guard let i = loudest else { continue }
            for j in 0..<channels where j != i {
                let bin = min(differenceBins - 1, max(0, Int(smoothed[i] - smoothed[j])))
                histogram[(i * channels + j) * differenceBins + bin] += 1
            }
        }
        var bleed = [Double](repeating: unmeasuredBleed, count: channels * channels)
        for i in 0..<channels {
            for j in 0..<channels where j != i {
                let base = (i * channels + j) * differenceBins
                let count = histogram[base..<(base + differenceBins)].reduce(0, +)
                guard count >= 50 else { continue }
                var seen: UInt32 = 0
                for bin in 0..<differenceBins {
                    seen += histogram[base + bin]
                    if seen * 2 >= count {
                        bleed[i * channels + j] = -(Double(bin) + 0.5)
                        break
                    }
                }
            }
        }

        var runs: [[Range<Int>]] = Array(repeating: [], count: channels)
        var open: [Int?] = Array(repeating: nil, count: channels)
        for f in 0..<frames {
            smooth(f, into: &smoothed)
            for c in 0..<channels {
                var speaking = smoothed[c] > thresholds[c]
                if speaking {
                    for i in 0..<channels where i != c && smoothed[i] > thresholds[i] && smoothed[i] > smoothed[c] {
                        if smoothed[c] < smoothed[i] + bleed[i * channels + c] + bleedMargin {
                            speaking = false
                            break
                        }
                    }
                }
                if speaking, open[c] == nil {
                    open[c] = f
                } else if !speaking, let start = open[c] {
                    runs[c].append(start..<f)
                    open[c] = nil
                }
            }
        }
        for c in 0..<channels { if let start = open[c] { runs[c].append(start..<frames) } }

        let rate = Double(ChannelLevels.framesPerSecond)
        var turns: [SpeakerTurn] = []
        for c in 0..<channels {
            var bridged: [Range<Int>] = []
            for run in runs[c] {
                if let last = bridged.last, run.lowerBound - last.upperBound < DiarizationService.bridgeFrames {
                    bridged[bridged.count - 1] = last.lowerBound..<run.upperBound
                } else {
                    bridged.append(run)
                }
            }
            let name = label(ofChannel: c, names: names)
            for run in bridged where run.count >= DiarizationService.minimumSpeechFrames {
                let start = ((fileOffset + Double(run.lowerBound) / rate) * 1000).rounded() / 1000
                let end = ((fileOffset + Double(run.upperBound) / rate) * 1000).rounded() / 1000
                turns.append(SpeakerTurn(start: start, end: end, speaker: name))
            }
        }
        return turns.sorted { ($0.start, $0.end) < ($1.start, $1.end) }
    }
}
