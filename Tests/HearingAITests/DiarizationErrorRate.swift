import Foundation

@testable import HearingAI

/// Diarization error rate, scored as `scripts/der.py` scores it (keep the two in step):
///
/// - time is cut into 10 ms frames; a turn `[start, end)` covers frames
///   `floor(start * 100 + 0.5) ..< floor(end * 100 + 0.5)`;
/// - a no-score collar of `collar` seconds either side of every reference turn's start and end
///   is removed from scoring (numerator and denominator);
/// - in each scored frame with `R` reference and `H` hypothesis speakers:
///   missed `max(0, R - H)`, false alarm `max(0, H - R)`, confusion `min(R, H)` minus the
///   speakers correct under the mapping;
/// - the mapping of hypothesis to reference speakers is one-to-one and maximises the frames
///   they share (exact: a dynamic programme over subsets of the smaller side).
///
/// DER = (missed + false alarm + confusion) / scored reference speech.
struct DiarizationScore: CustomStringConvertible {
    /// Scored reference speech, in frames.
    var total: Int
    var missed: Int
    var falseAlarm: Int
    var confusion: Int
    /// Hypothesis speaker → reference speaker.
    var mapping: [String: String]
    var referenceSpeakers: [String]
    var hypothesisSpeakers: [String]

    var errorRate: Double { total == 0 ? 0 : Double(missed + falseAlarm + confusion) / Double(total) }
    var missedRate: Double { total == 0 ? 0 : Double(missed) / Double(total) }
    var falseAlarmRate: Double { total == 0 ? 0 : Double(falseAlarm) / Double(total) }
    var confusionRate: Double { total == 0 ? 0 : Double(confusion) / Double(total) }

    var description: String {
        String(
            format: "DER %.4f (missed %.4f, false alarm %.4f, confusion %.4f) over %.2f s; ",
            errorRate, missedRate, falseAlarmRate, confusionRate, Double(total) * DiarizationScore.frame)
            + "mapping \(mapping.sorted { $0.key < $1.key }.map { "\($0.key)→\($0.value)" }.joined(separator: ", "))"
    }

    static let frame = 0.01
}

/// The frame at or after `t`: frames whose centre lies in `[start, end)` belong to a turn.
private func frameIndex(_ t: Double) -> Int {
    Int((t / DiarizationScore.frame + 0.5).rounded(.down))
}

func diarizationErrorRate(reference: [SpeakerTurn], hypothesis: [SpeakerTurn], collar: Double = 0.25) -> DiarizationScore {
    let end = (reference + hypothesis).map { frameIndex($0.end) }.max().map { max(0, $0) } ?? 0
    let referenceSpeakers = Array(Set(reference.map(\.speaker))).sorted()
    let hypothesisSpeakers = Array(Set(hypothesis.map(\.speaker))).sorted()
    let refIndex = Dictionary(uniqueKeysWithValues: referenceSpeakers.enumerated().map { ($1, $0) })
    let hypIndex = Dictionary(uniqueKeysWithValues: hypothesisSpeakers.enumerated().map { ($1, $0) })

    // Per frame: a bit set of speakers (the tests never have more than 64).
    func frames(_ turns: [SpeakerTurn], _ index: [String: Int]) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: end)
        for turn in turns {
            let bit = UInt64(1) << UInt64(index[turn.speaker]!)
            for i in max(0, frameIndex(turn.start))..<max(max(0, frameIndex(turn.start)), frameIndex(turn.end)) {
                out[i] |= bit
            }
        }
        return out
    }
    let refFrames = frames(reference, refIndex)
    let hypFrames = frames(hypothesis, hypIndex)
    var scored = [Bool](repeating: true, count: end)
    if collar > 0 {
        for turn in reference {
            for boundary in [turn.start, turn.end] {
                let lo = max(0, frameIndex(boundary - collar)), hi = min(end, frameIndex(boundary + collar))
                if lo < hi { for i in lo..<hi { scored[i] = false } }
            }
        }
    }

    var overlap = [[Int]](repeating: [Int](repeating: 0, count: referenceSpeakers.count), count: hypothesisSpeakers.count)
    var total = 0, missed = 0, falseAlarm = 0, matched = 0
    for i in 0..<end where scored[i] {
        let r = refFrames[i].nonzeroBitCount, h = hypFrames[i].nonzeroBitCount
        total += r
        missed += max(0, r - h)
        falseAlarm += max(0, h - r)
        matched += min(r, h)
        guard r > 0, h > 0 else { continue }
        for hs in 0..<hypothesisSpeakers.count where hypFrames[i] & (1 << UInt64(hs)) != 0 {
            for rs in 0..<referenceSpeakers.count where refFrames[i] & (1 << UInt64(rs)) != 0 {
                overlap[hs][rs] += 1
            }
        }
    }
    let pairs = bestMapping(overlap)
    let correct = pairs.reduce(0) { $0 + overlap[$1.hyp][$1.ref] }
    return DiarizationScore(
        total: total, missed: missed, falseAlarm: falseAlarm, confusion: matched - correct,
        mapping: Dictionary(uniqueKeysWithValues: pairs.map { (hypothesisSpeakers[$0.hyp], referenceSpeakers[$0.ref]) }),
        referenceSpeakers: referenceSpeakers, hypothesisSpeakers: hypothesisSpeakers)
}

/// The one-to-one (hypothesis, reference) pairing with the largest summed `overlap[hyp][ref]`:
/// walks the larger side one speaker at a time over bit masks of the smaller side's speakers used.
private func bestMapping(_ overlap: [[Int]]) -> [(hyp: Int, ref: Int)] {
    let hypCount = overlap.count, refCount = overlap.first?.count ?? 0
    let swap = hypCount < refCount
    let small = swap ? hypCount : refCount, large = swap ? refCount : hypCount
    func gain(_ s: Int, _ l: Int) -> Int { swap ? overlap[s][l] : overlap[l][s] }

    let size = 1 << small
    var best = [Int](repeating: -1, count: size)
    best[0] = 0
    var back: [[(previous: Int, small: Int?)]] = []
    for l in 0..<large {
        var next = best
        var step = (0..<size).map { (previous: $0, small: Int?.none) }
        for mask in 0..<size where best[mask] >= 0 {
            for s in 0..<small where mask & (1 << s) == 0 {
                let value = best[mask] + gain(s, l), grown = mask | (1 << s)
                if value > next[grown] {
                    next[grown] = value
                    step[grown] = (mask, s)
                }
            }
        }
        best = next
        back.append(step)
    }
    var mask = (0..<size).max { best[$0] < best[$1] } ?? 0
    var pairs: [(hyp: Int, ref: Int)] = []
    for l in stride(from: large - 1, through: 0, by: -1) {
        let (previous, s) = back[l][mask]
        if let s { pairs.append(swap ? (hyp: s, ref: l) : (hyp: l, ref: s)) }
        mask = previous
    }
    return pairs
}

extension Fixtures {
    /// A fixture's reference turns (`NAME.turns.tsv`: a header, then
    /// `start_seconds end_seconds speaker_voice text`), the voice as the speaker.
    static func referenceTurns(_ relative: String) throws -> [SpeakerTurn] {
        try text(relative).split(separator: "\n").dropFirst().compactMap { line in
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard columns.count >= 3, let start = Double(columns[0]), let end = Double(columns[1]) else { return nil }
            return SpeakerTurn(start: start, end: end, speaker: String(columns[2]))
        }
    }
}

extension Fixtures {
    /// A fixture's speaker reference in NIST RTTM (`NAME.rttm`: `SPEAKER file channel onset
    /// duration <NA> <NA> speaker …`), as scripts/der.py reads it.
    static func rttmTurns(_ relative: String) throws -> [SpeakerTurn] {
        try text(relative).split(separator: "\n").compactMap { line in
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            guard columns.count >= 8, columns[0] == "SPEAKER", let onset = Double(columns[3]), let duration = Double(columns[4])
            else { return nil }
            return SpeakerTurn(start: onset, end: onset + duration, speaker: String(columns[7]))
        }
    }
}
