import Foundation
import Synchronization

/// The loudness of each channel of a multichannel file in 10 ms frames, measured as the file
/// is read and before it is mixed down: what ``ChannelDiarizer`` tells a studio session's
/// microphones apart by. It also finds dual mono: a stereo file whose two channels carry the
/// same signal.
///
/// A frame's level is one byte per channel (half-decibel steps from -100 dBFS), so a run holds
/// 100 bytes a second per channel: 1.4 MB for an hour of four channels. The reading thread
/// writes it as it reads; the run takes the levels once the stream has ended.
public final class ChannelLevels: Sendable {
    /// Channels measured.
    public let channels: Int
    /// The input's frame rate.
    public let inputRate: Int

    /// Level frames per second.
    public static let framesPerSecond = 100
    /// The lowest level a byte holds, in dBFS; a byte is twice the decibels above it.
    static let floorDecibels = -100.0
    /// Dual mono is decided over this much of the start of the file.
    public static let dualMonoSeconds = 30.0
    /// Two channels are dual mono when the energy of their difference (L − R) is at least this
    /// far below that of their sum (L + R), in dB: -30 dB is a difference a thousandth of the
    /// sum's energy, far closer than two microphones in one room ever are, and well within what
    /// a lossy codec leaves of a mono signal copied to both channels.
    public static let dualMonoRatio = -30.0

    private struct State: Sendable {
        /// Frame-major: frame `f`, channel `c` at `f * channels + c`.
        var levels: [UInt8] = []
        /// The open frame's sum of squares per channel, and the input frames in it.
        var sums: [Double]
        var inFrame = 0
        /// Level frames closed so far.
        var frames = 0
        /// Input frames measured.
        var measured: Int64 = 0
        /// Stereo only: energies of L − R and L + R over the first ``dualMonoSeconds``.
        var difference = 0.0
        var sum = 0.0
        var dualMono: Bool?
        var finished = false
    }
    private let state: Mutex<State>

    /// Levels for `channels` channels at `inputRate` frames a second; `expectedSeconds` sizes
    /// the store up front, up to three hours (it grows if the file runs longer: a length
    /// FFmpeg only estimates is not allocated before it is read).
    public init(channels: Int, inputRate: Int, expectedSeconds: Double = 0) {
        self.channels = channels
        self.inputRate = inputRate
        var state = State(sums: [Double](repeating: 0, count: channels))
        let frames = Int(min(max(0, expectedSeconds), 3 * 3600) * Double(Self.framesPerSecond)) + 1
        state.levels.reserveCapacity(frames * channels)
        if channels != 2 { state.dualMono = false }
        self.state = Mutex(state)
    }

    /// What a run reserves for the levels of `seconds` of `channels` channels: the levels
    /// themselves, the channel diarizer's histograms of each pair of channels
    /// (``ChannelDiarizer/workingBytes(channels:)``) and 64 KB for the turns.
    public static func reservedBytes(forSeconds seconds: Double, channels: Int) -> Int {
        Int((max(0, seconds) * Double(framesPerSecond * channels)).rounded(.up)) + ChannelDiarizer.workingBytes(channels: channels)
            + 65_536
    }

    /// Measures `frames` interleaved frames (`channels` floats each, full scale ±1).
    func measure(_ interleaved: UnsafeBufferPointer<Float>, frames: Int) {
        let channels = self.channels
        let rate = Int64(inputRate)
        let dualMonoFrames = Int64(Self.dualMonoSeconds * Double(inputRate))
        state.withLock { state in
            precondition(!state.finished, "measured after finish()")
            var frameEnd = Int64(state.frames + 1) * rate / Int64(Self.framesPerSecond)
            for i in 0..<frames {
                let base = i * channels
                for c in 0..<channels {
                    let x = Double(interleaved[base + c])
                    state.sums[c] += x * x
                }
                if state.dualMono == nil {
                    let l = Double(interleaved[base])
                    let r = Double(interleaved[base + 1])
                    state.difference += (l - r) * (l - r)
                    state.sum += (l + r) * (l + r)
                }
                state.measured += 1
                state.inFrame += 1
                if state.measured >= frameEnd {
                    Self.close(&state, channels: channels)
                    frameEnd = Int64(state.frames + 1) * rate / Int64(Self.framesPerSecond)
                    if state.dualMono == nil, state.measured >= dualMonoFrames { Self.decideDualMono(&state, final: false) }
                }
            }
        }
    }

    /// Ends the measurement: closes the last partial frame and decides dual mono on what was
    /// read, if the file was shorter than ``dualMonoSeconds`` or silent until then.
    func finish() {
        state.withLock { state in
            guard !state.finished else { return }
            if state.inFrame > 0 { Self.close(&state, channels: channels) }
            if state.dualMono == nil { Self.decideDualMono(&state, final: true) }
            state.finished = true
        }
    }

    /// Whether the channels are one signal twice (stereo only); nil until decided.
    public var isDualMono: Bool? { state.withLock { $0.dualMono } }

    /// The energy of L − R against L + R in dB over what decided dual mono (stereo only).
    public var differenceDecibels: Double? {
        state.withLock { state in
            guard channels == 2, state.dualMono != nil else { return nil }
            return Self.decibels(state.difference / max(state.sum, 1e-30))
        }
    }

    /// Whether the channels are known to carry different signals: the channel diarizer will
    /// label this file, so speakers need not be found by voice.
    public var areDistinct: Bool { state.withLock { $0.dualMono == false } }

    /// Level frames measured so far.
    public var frameCount: Int { state.withLock { $0.frames } }

    /// Bytes held.
    public var footprintBytes: Int { state.withLock { $0.levels.capacity } }

    /// Takes the levels (frame-major, ``channels`` bytes a frame), leaving none behind.
    func take() -> [UInt8] {
        state.withLock { state in
            let levels = state.levels
            state.levels = []
            return levels
        }
    }

    /// The decibels a level byte stands for.
    static func decibels(ofLevel level: UInt8) -> Double { floorDecibels + Double(level) / 2 }

    /// The level byte for a mean square (full scale 1).
    static func level(ofMeanSquare meanSquare: Double) -> UInt8 {
        let code = ((decibels(meanSquare) - floorDecibels) * 2).rounded()
        return UInt8(max(0, min(255, code)))
    }

    private static func decibels(_ power: Double) -> Double { 10 * log10(max(power, 1e-30)) }

    private static func close(_ state: inout State, channels: Int) {
        let n = Double(max(1, state.inFrame))
        for c in 0..<channels {
            state.levels.append(level(ofMeanSquare: state.sums[c] / n))
            state.sums[c] = 0
        }
        state.inFrame = 0
        state.frames += 1
    }

    /// Decides once the first ``dualMonoSeconds`` have been heard; while both channels have been
    /// silent (below -90 dBFS: nothing to compare) it listens on, until the end if need be.
    private static func decideDualMono(_ state: inout State, final: Bool) {
        let samples = Double(max(1, state.measured))
        guard final || state.sum / samples > 1e-9 else { return }
        state.dualMono = decibels(state.difference / max(state.sum, 1e-30)) <= dualMonoRatio
    }
}
