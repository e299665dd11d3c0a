import Foundation

/// An in-place radix-2 FFT of a fixed power-of-two size, with precomputed twiddles.
/// Used for the diarizer's spectra; small and exact enough for 512-point frames.
struct FFT: Sendable {
    let size: Int
    private let cosines: [Double]
    private let sines: [Double]
    private let bitReversed: [Int]

    init(size: Int) {
        precondition(size > 1 && size & (size - 1) == 0, "FFT size must be a power of two")
        self.size = size
        cosines = (0..<size / 2).map { cos(-2 * Double.pi * Double($0) / Double(size)) }
        sines = (0..<size / 2).map { sin(-2 * Double.pi * Double($0) / Double(size)) }
        let bits = size.trailingZeroBitCount
        bitReversed = (0..<size).map { i in
            var r = 0
            for b in 0..<bits where i & (1 << b) != 0 { r |= 1 << (bits - 1 - b) }
            return r
        }
    }

    /// The power spectrum |X(k)|² for k in 0...size/2 of the real signal `input` (size samples).
    func powerSpectrum(_ input: [Double], into power: inout [Double]) {
        var re = [Double](repeating: 0, count: size)
        var im = [Double](repeating: 0, count: size)
        for i in 0..<size { re[bitReversed[i]] = input[i] }
        var half = 1
        while half < size {
            let step = size / (half * 2)
            var start = 0
            while start < size {
                for k in 0..<half {
                    let c = cosines[k * step], s = sines[k * step]
                    let a = start + k, b = a + half
                    let tre = re[b] * c - im[b] * s
                    let tim = re[b] * s + im[b] * c
                    re[b] = re[a] - tre
                    im[b] = im[a] - tim
                    re[a] += tre
                    im[a] += tim
                }
                start += half * 2
            }
            half *= 2
        }
        if power.count != size / 2 + 1 { power = [Double](repeating: 0, count: size / 2 + 1) }
        for k in 0...(size / 2) { power[k] = re[k] * re[k] + im[k] * im[k] }
    }
}
