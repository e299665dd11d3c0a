import Foundation

/// Per-frame features for diarization: log energy and mel-frequency cepstral coefficients.
///
/// 25 ms Hamming windows every 10 ms at 16 kHz, pre-emphasis 0.97, a 512-point FFT, 26
/// triangular mel filters from 64 Hz to 7.6 kHz, and the DCT of their logs. Coefficients 1–19
/// describe the vocal tract (who is speaking); c0 is left out because it is loudness. The
/// higher coefficients (13–19) carry the fine spectral shape that tells two voices of the
/// same sex apart on a telephone call, where 1–12 alone could not (docs/benchmarks.md).
struct SpeakerFeatures: Sendable {
    static let frameLength = 400
    static let hop = 160
    static let coefficients = 19
    static let filters = 26

    private let fft = FFT(size: 512)
    private let window: [Double]
    private let filterbank: [[(bin: Int, weight: Double)]]
    private let dct: [[Double]]

    init(sampleRate: Double = Double(ChunkPlan.sampleRate)) {
        window = (0..<Self.frameLength).map { 0.54 - 0.46 * cos(2 * Double.pi * Double($0) / Double(Self.frameLength - 1)) }
        func mel(_ hz: Double) -> Double { 2595 * log10(1 + hz / 700) }
        func hz(_ mel: Double) -> Double { 700 * (pow(10, mel / 2595) - 1) }
        let bins = 512 / 2 + 1
        let low = mel(64), high = mel(7_600)
        let centres = (0...(Self.filters + 1)).map { hz(low + (high - low) * Double($0) / Double(Self.filters + 1)) }
        let binOf = { (f: Double) in f / sampleRate * 512 }
        filterbank = (1...Self.filters).map { m in
            let (a, b, c) = (binOf(centres[m - 1]), binOf(centres[m]), binOf(centres[m + 1]))
            return (0..<bins).compactMap { k -> (Int, Double)? in
                let x = Double(k)
                let w = x < a || x > c ? 0 : (x <= b ? (x - a) / max(b - a, 1e-9) : (c - x) / max(c - b, 1e-9))
                return w > 0 ? (k, w) : nil
            }
        }
        dct = (1...Self.coefficients).map { i in
            (0..<Self.filters).map { j in cos(Double.pi * Double(i) * (Double(j) + 0.5) / Double(Self.filters)) }
        }
    }

    /// One frame's features.
    struct Frame: Sendable {
        /// Log energy of the frame (dB, relative to full scale).
        var energy: Float
        /// MFCC 1–19.
        var mfcc: [Float]
    }

    /// Features of every full frame in `samples` (16 kHz, 16-bit).
    func frames(of samples: ArraySlice<Int16>) -> [Frame] {
        let count = samples.count >= Self.frameLength ? (samples.count - Self.frameLength) / Self.hop + 1 : 0
        var result: [Frame] = []
        result.reserveCapacity(count)
        var buffer = [Double](repeating: 0, count: 512)
        var power: [Double] = []
        let base = samples.startIndex
        for f in 0..<count {
            let start = base + f * Self.hop
            var previous = start > samples.startIndex ? Double(samples[start - 1]) / 32768 : 0
            var energy = 0.0
            for i in 0..<Self.frameLength {
                let x = Double(samples[start + i]) / 32768
                energy += x * x
                buffer[i] = (x - 0.97 * previous) * window[i]
                previous = x
            }
            for i in Self.frameLength..<512 { buffer[i] = 0 }
            fft.powerSpectrum(buffer, into: &power)
            var logMel = [Double](repeating: 0, count: Self.filters)
            for (m, filter) in filterbank.enumerated() {
                var sum = 1e-10
                for (bin, weight) in filter { sum += power[bin] * weight }
                logMel[m] = log(sum)
            }
            let mfcc = dct.map { row in Float(zip(row, logMel).reduce(0) { $0 + $1.0 * $1.1 }) }
            result.append(Frame(energy: Float(10 * log10(energy / Double(Self.frameLength) + 1e-12)), mfcc: mfcc))
        }
        return result
    }
}
