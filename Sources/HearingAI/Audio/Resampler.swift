import CSoxr

/// Streaming sample-rate conversion with libsoxr (mono, 32-bit float).
///
/// Not thread-safe: confine to one thread, like the ``AudioFile`` it follows.
final class Resampler {
    private var soxr: soxr_t?
    let inputRate: Double
    let outputRate: Double

    init(inputRate: Double, outputRate: Double) throws {
        self.inputRate = inputRate
        self.outputRate = outputRate
        var error: soxr_error_t?
        var io = soxr_io_spec(SOXR_FLOAT32, SOXR_FLOAT32)
        // High quality (soxr's default recipe) is more than speech recognition needs and
        // still a small share of the decoder's time.
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        soxr = soxr_create(inputRate, outputRate, 1, &error, &io, &quality, nil)
        if let error {
            throw HearingAIError(.engineUnavailable, reason: "libsoxr: \(String(cString: error))")
        }
    }

    deinit {
        if let soxr { soxr_delete(soxr) }
    }

    /// Converts `count` input samples, appending the output to `output`. Pass `count == 0`
    /// with `flush: true` at the end of the stream to drain soxr's filter.
    func process(_ input: UnsafePointer<Float>?, count: Int, flush: Bool = false, into output: inout [Float]) throws {
        guard let soxr else { return }
        let capacity = Int((Double(count) * outputRate / inputRate).rounded(.up)) + 1024
        var scratch = [Float](repeating: 0, count: capacity)
        var consumed = 0
        repeat {
            var inDone = 0
            var outDone = 0
            let error = scratch.withUnsafeMutableBufferPointer { out in
                soxr_process(
                    soxr,
                    flush ? nil : input.map { UnsafeRawPointer($0 + consumed) },
                    flush ? 0 : count - consumed, &inDone,
                    out.baseAddress, capacity, &outDone)
            }
            if let error {
                throw HearingAIError(.engineFailed, reason: "libsoxr: \(String(cString: error))")
            }
            consumed += inDone
            output.append(contentsOf: scratch[0..<outDone])
            // When flushing, soxr returns output until its filter is empty.
            if flush, outDone == 0 { break }
            if !flush, inDone == 0, outDone == 0 { break }
        } while flush || consumed < count
    }
}
