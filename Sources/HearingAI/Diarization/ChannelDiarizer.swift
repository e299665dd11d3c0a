import Foundation

/// Speakers from channels: in a studio session each microphone has a channel of its own, so
/// each channel is one speaker (`speaker_per_channel`).
///
/// Every channel is voice-activity-detected on its own level (``ChannelLevels``, 10 ms frames,
/// power smoothed over 50 ms) against a threshold set from its own noise floor and speech level, the
/// same rule the voice diarizer uses (``DiarizationService/speechThreshold(floor:peak:)``).
/// Bleed, a voice heard on the other microphones, is rejected by comparing the channels: a
/// channel speaks only while it is within ``bleedMargin`` of the loudest channel speaking, so a
/// voice that reaches a neighbour 20 dB down is not that neighbour speaking, while two people
/// talking over each other both are. Each channel's speech is then bridged over short gaps and
/// cleared of short bursts, as the voice diarizer does, and becomes its turns; turns of
/// different channels may overlap.
///
/// It holds nothing but the levels it is given and the turns it makes.
public enum ChannelDiarizer {
    /// How far under the loudest speaking channel a channel may be and still be speaking, in
    /// dB. Bleed between microphones a metre or more apart is 15–25 dB down; overlapping
    /// talkers recorded with gains up to 10 dB apart are both kept.
    public static let bleedMargin = 10.0
    /// Frames of the moving average over each channel's level (50 ms).
    static let smoothingFrames = 5

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
        var runs: [[Range<Int>]] = Array(repeating: [], count: channels)
        var open: [Int?] = Array(repeating: nil, count: channels)
        var smoothed = [Double](repeating: 0, count: channels)
        let half = smoothingFrames / 2
        for f in 0..<frames {
            let lower = max(0, f - half)
            let upper = min(frames, f + half + 1)
            var loudest = -Double.infinity
            for c in 0..<channels {
                var sum = 0.0
                for g in lower..<upper { sum += power[Int(levels[g * channels + c])] }
                smoothed[c] = 10 * log10(sum / Double(upper - lower))
                if smoothed[c] > thresholds[c] { loudest = max(loudest, smoothed[c]) }
            }
            for c in 0..<channels {
                let speaking = smoothed[c] > thresholds[c] && smoothed[c] >= loudest - bleedMargin
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
