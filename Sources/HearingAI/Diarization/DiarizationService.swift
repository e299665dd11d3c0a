import Foundation
import Synchronization

/// Finds who spoke when, offline, with classical signal processing: an energy voice-activity
/// detector whose threshold adapts to the chunk's noise, MFCC statistics over 1.5-second
/// windows, and clustering with the number of speakers found automatically or held to the
/// bounds given.
///
/// It works chunk by chunk beside transcription and never holds the file's audio: for the part
/// of each chunk it owns it keeps each window's times, speech region and embedding (38 floats),
/// nothing else. No decision is taken inside a chunk, so none has to be undone: at the end of
/// the file the windows are normalised per recording (mean and variance), whitened by how one
/// voice varies (estimated from neighbouring windows of the same speech region), clustered
/// (in blocks of 256 in time order, then the blocks' clusters together), brought within the
/// speaker-count bounds, re-assigned to the final centroids and resegmented
/// (``SpeakerClustering/settle(_:labels:minClusters:maxClusters:)``). With `--speakers N` and
/// at least N windows of speech the turns carry exactly N speakers.
///
/// Feature extraction runs on a thread of the service's own. Register the service with the
/// ``ResourceManager``; ``close()`` ends its thread and drops its state.
public final class DiarizationService: ManagedResource {
    /// Bytes reserved against the memory budget while a run is diarized: a chunk's frames
    /// (about 0.4 MB for 30 s), then per 1.5 s window (one per 0.75 s of speech) 176 bytes
    /// (its times, region and 38-float embedding), whitened in place at the end, plus a sort
    /// order, labels and Viterbi back pointers (about 17 bytes a window) and a score matrix of
    /// at most 256 × 256 (512 KB). Three hours of uninterrupted speech come to about 3.3 MB at
    /// the end (docs/memory-management.md).
    public static let reservedBytes = 4 * 1_048_576

    /// What a run over `seconds` of audio reserves: ``reservedBytes`` up to three hours, and
    /// 1.25 MB for every further hour (the windows of an hour of uninterrupted speech and what
    /// the end adds for them, about 0.93 MB, rounded up), so the limit holds for files of any
    /// length.
    public static func reservedBytes(forSeconds seconds: Double) -> Int {
        let beyond = max(0, seconds - 3 * 3600)
        return reservedBytes + Int((beyond / 3600 * 1.25 * 1_048_576).rounded(.up))
    }

    /// Window length and hop, in 10 ms frames.
    static let windowFrames = 150
    static let windowHop = 75
    /// Gaps in speech shorter than this (frames) are bridged; bursts shorter than this dropped.
    static let bridgeFrames = 30
    static let minimumSpeechFrames = 10
    /// The score under which clusters of windows merge when the number of speakers is not
    /// given. Chosen over the whole evaluation set of docs/benchmarks.md (real calls and
    /// meetings, flite and espeak-ng voices, noise, music, reverb, telephone), with
    /// leave-one-out figures there, not on one file or one synthesiser.
    static let threshold = 5.0

    /// The options in force.
    public let options: DiarizationOptions
    private let thread = BlockingThread(name: "diarizer")
    private let features = SpeakerFeatures()

    /// A window as kept for the run: where it is and which speech region it lies in (its
    /// embedding is in ``WindowStore/values``, at the same row).
    private struct Window {
        var start: Double
        var end: Double
        var region: Int
    }

    /// The run's windows and their embeddings (row-major). A class so that ``finish()`` can
    /// sort and whiten a long file's windows in place instead of holding second copies.
    private final class WindowStore: @unchecked Sendable {
        // Safe: touched only under `state`'s lock while chunks are analysed, and by the
        // diarizer's thread in finish(), after finish() has taken it out of the state.
        var windows: [Window] = []
        var values: [Float] = []
    }

    static let dimensions = 2 * SpeakerFeatures.coefficients

    private struct State: Sendable {
        var store = WindowStore()
        var regions: [(start: Double, end: Double)] = []
        var seconds = 0.0
    }
    private let state = Mutex(State())

    /// A service with `options`.
    public init(options: DiarizationOptions = DiarizationOptions()) {
        self.options = options
    }

    /// Seconds spent so far on this run.
    public var seconds: Double { state.withLock { $0.seconds } }

    /// Analyses the part of `chunk` it owns. `fileOffset` is where the transcribed range starts.
    public func analyze(_ chunk: Chunk, fileOffset: Double) async throws {
        let features = self.features
        let result = try await thread.run {
            () -> (windows: [Window], embeddings: [Float], regions: [(Double, Double)], seconds: Double) in
            let clock = ContinuousClock()
            let started = clock.now
            let from = Int(chunk.ownedStart - chunk.audioStart)
            let to = Int(chunk.ownedEnd - chunk.audioStart)
            let frames = features.frames(of: chunk.samples[from..<min(to + SpeakerFeatures.frameLength, chunk.samples.count)])
                .prefix(max(0, (to - from) / SpeakerFeatures.hop))
            let origin = fileOffset + Double(chunk.ownedStart) / Double(ChunkPlan.sampleRate)
            let time = { (frame: Int) in origin + Double(frame * SpeakerFeatures.hop) / Double(ChunkPlan.sampleRate) }
            var windows: [Window] = []
            var embeddings: [Float] = []
            var regions: [(Double, Double)] = []
            for region in Self.speechRegions(Array(frames.map(\.energy))) {
                let length = region.upperBound - region.lowerBound
                regions.append((time(region.lowerBound), time(region.upperBound)))
                guard length >= Self.bridgeFrames else { continue }
                var start = region.lowerBound
                while true {
                    let end = min(region.upperBound, start + Self.windowFrames)
                    let first = max(region.lowerBound, end - Self.windowFrames)
                    windows.append(Window(start: time(first), end: time(end), region: regions.count - 1))
                    embeddings += Self.embedding(frames[(frames.startIndex + first)..<(frames.startIndex + end)]).map(Float.init)
                    if end >= region.upperBound { break }
                    start += Self.windowHop
                }
            }
            return (windows, embeddings, regions, (clock.now - started).seconds)
        }
        state.withLock { state in
            let base = state.regions.count
            for var window in result.windows {
                window.region += base
                state.store.windows.append(window)
            }
            state.store.values += result.embeddings
            state.regions += result.regions.map { (start: $0.0, end: $0.1) }
            state.seconds += result.seconds
        }
    }

    /// Clusters the whole file's windows and returns the turns, in time order. Call once, after
    /// the last ``analyze(_:fileOffset:)``: it takes the run's windows.
    public func finish() async throws -> [SpeakerTurn] {
        let options = self.options
        let taken = state.withLock { state in
            let taken = state
            state.regions = []
            state.store = WindowStore()
            return taken
        }
        let clock = ContinuousClock()
        let started = clock.now
        let turns = try await thread.run { Self.turns(from: taken, options: options) }
        state.withLock { $0.seconds += (clock.now - started).seconds }
        return turns
    }

    private static func turns(from state: State, options: DiarizationOptions) -> [SpeakerTurn] {
        let store = state.store
        guard !store.windows.isEmpty else {
            // Speech too short for any window: one speaker, if any speech at all.
            return state.regions.map { SpeakerTurn(start: $0.start, end: $0.end, speaker: "Speaker 1") }
        }
        // The windows in time order, whatever order the chunks came in, and their vectors
        // moved to match, in place.
        let d = dimensions
        do {
            let order = store.windows.indices.sorted { store.windows[$0].start < store.windows[$1].start }
            permute(&store.windows, rows: order, dimensions: 1)
            permute(&store.values, rows: order, dimensions: d)
        }
        let windows = store.windows
        let region = windows.map(\.region)
        normalize(&store.values, region: region, dimensions: d)
        let vectors = SpeakerClustering.Vectors(values: store.values, dimensions: d)
        store.windows = []
        store.values = []  // `vectors` and `windows` are now the only references: nothing is copied

        let minimum = options.speakers ?? options.minSpeakers
        let maximum = options.speakers ?? options.maxSpeakers
        var labels = cluster(vectors)
        labels = SpeakerClustering.settle(vectors, labels: labels, minClusters: minimum, maxClusters: maximum)
        labels = SpeakerClustering.reassign(vectors, labels: labels, clusters: (labels.max() ?? 0) + 1)
        labels = SpeakerClustering.resegment(vectors, labels: labels, region: region)

        // Each speech region is split between the windows inside it at the midpoints between
        // their centres; a region with no window takes the label of the nearest one.
        var raw: [(start: Double, end: Double, label: Int)] = []
        var cursor = 0
        for region in state.regions.sorted(by: { $0.start < $1.start }) {
            while cursor < windows.count && windows[cursor].end <= region.start - 0.01 { cursor += 1 }
            var inside: [Int] = []
            var k = cursor
            while k < windows.count && windows[k].start < region.end {
                if windows[k].start >= region.start - 0.01 && windows[k].end <= region.end + 0.01 { inside.append(k) }
                k += 1
            }
            if inside.isEmpty {
                let centre = (region.start + region.end) / 2
                let near = [max(0, cursor - 1), min(windows.count - 1, cursor)]
                let nearest = near.min {
                    abs((windows[$0].start + windows[$0].end) / 2 - centre) < abs((windows[$1].start + windows[$1].end) / 2 - centre)
                }!
                raw.append((region.start, region.end, labels[nearest]))
                continue
            }
            var from = region.start
            for (i, w) in inside.enumerated() {
                let end =
                    i + 1 < inside.count
                    ? ((windows[w].start + windows[w].end) / 2 + (windows[inside[i + 1]].start + windows[inside[i + 1]].end) / 2) / 2
                    : region.end
                raw.append((from, end, labels[w]))
                from = end
            }
        }
        // Merge neighbours with the same label; name speakers by first appearance.
        var merged: [(start: Double, end: Double, label: Int)] = []
        for piece in raw where piece.end > piece.start {
            if let last = merged.last, last.label == piece.label, piece.start - last.end < 0.5 {
                merged[merged.count - 1].end = piece.end
            } else {
                merged.append(piece)
            }
        }
        var names: [Int: String] = [:]
        return merged.map { piece in
            let name =
                names[piece.label]
                ?? {
                    let n = "Speaker \(names.count + 1)"
                    names[piece.label] = n
                    return n
                }()
            return SpeakerTurn(start: (piece.start * 1000).rounded() / 1000, end: (piece.end * 1000).rounded() / 1000, speaker: name)
        }
    }

    /// Rows of `values` reordered in place so that row `i` becomes the old row `order[i]`.
    static func permute<Element>(_ values: inout [Element], rows order: [Int], dimensions d: Int) {
        var done = [Bool](repeating: false, count: order.count)
        for i in order.indices where !done[i] {
            let saved = Array(values[(i * d)..<(i * d + d)])
            var j = i
            while true {
                done[j] = true
                let source = order[j]
                if source == i {
                    values.replaceSubrange((j * d)..<(j * d + d), with: saved)
                    break
                }
                for k in 0..<d { values[j * d + k] = values[source * d + k] }
                j = source
            }
        }
    }

    /// Per-recording normalisation, in place: each dimension to zero mean and unit variance
    /// over the file's windows (cepstral mean and variance normalisation, which on window
    /// statistics is this affine map), then whitening by the within-speaker covariance. That
    /// covariance is estimated from pairs of back-to-back windows of one speech region
    /// (windows `i` and `i + 2`, which do not overlap), mostly one voice saying two different
    /// things; the 20% most different pairs, where the speaker most likely changed, are left
    /// out. Distances after it count in units of how much one voice varies.
    static func normalize(_ values: inout [Float], region: [Int], dimensions d: Int) {
        let n = region.count
        var mean = [Double](repeating: 0, count: d)
        var square = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for k in 0..<d {
                let v = Double(values[i * d + k])
                mean[k] += v
                square[k] += v * v
            }
        }
        mean = mean.map { $0 / Double(n) }
        let deviation = (0..<d).map { max(square[$0] / Double(n) - mean[$0] * mean[$0], 0).squareRoot() + 1e-9 }
        for i in 0..<n { for k in 0..<d { values[i * d + k] = Float((Double(values[i * d + k]) - mean[k]) / deviation[k]) } }

        let pairs = (0..<max(0, n - 2)).filter { region[$0] == region[$0 + 2] }
        let distance = pairs.map { i in (0..<d).reduce(0.0) { $0 + pow(Double(values[i * d + $1] - values[(i + 2) * d + $1]), 2) } }
        let sorted = distance.sorted()
        let cut = sorted.isEmpty ? .infinity : sorted[min(sorted.count - 1, Int(Double(sorted.count) * withinShare))]
        var scatter = [Double](repeating: 0, count: d * d)
        var kept = 0
        for (p, i) in pairs.enumerated() where distance[p] <= cut {
            kept += 1
            let r = (0..<d).map { Double(values[i * d + $0] - values[(i + 2) * d + $0]) }
            for a in 0..<d { for b in 0..<d { scatter[a * d + b] += r[a] * r[b] / 2 } }
        }
        // Even a few pairs say something (the loading keeps the rest of the space as it is);
        // with none, the standardised space is used as it is.
        let whiten = SpeakerClustering.Whitening(
            mean: [Double](repeating: 0, count: d), scatter: scatter, degrees: kept > 2 ? kept : 0,
            fallback: [Double](repeating: 1, count: d))
        for i in 0..<n {
            let y = whiten((0..<d).map { Double(values[i * d + $0]) })
            for k in 0..<d { values[i * d + k] = Float(y[k]) }
        }
    }

    /// The share of back-to-back window pairs, the most alike, that estimate how one voice varies.
    static let withinShare = 0.8

    /// Labels for the whitened windows (in time order) under ``threshold``: each run of
    /// ``SpeakerClustering/blockSize`` windows is clustered, then the blocks' clusters together
    /// (``SpeakerClustering/clusterInBlocks(_:threshold:minClusters:maxClusters:blockSize:)``),
    /// so the score matrix never exceeds 256 × 256.
    static func cluster(_ vectors: SpeakerClustering.Vectors) -> [Int] {
        let n = vectors.count
        let d = vectors.dimensions
        var owner = [Int](repeating: 0, count: n)
        var points: [SpeakerClustering.Point] = []
        for start in stride(from: 0, to: n, by: SpeakerClustering.blockSize) {
            let end = min(n, start + SpeakerClustering.blockSize)
            let block = (start..<end).map { i in
                SpeakerClustering.Point(vector: vectors.values[(i * d)..<(i * d + d)].map(Double.init), weight: 1)
            }
            let labels = SpeakerClustering.cluster(block, threshold: threshold)
            let (centres, sizes) = SpeakerClustering.Vectors(
                values: Array(vectors.values[(start * d)..<(end * d)]), dimensions: d
            ).centroids(labels, clusters: (labels.max() ?? 0) + 1)
            for (i, label) in labels.enumerated() { owner[start + i] = points.count + label }
            points += zip(centres, sizes).map { SpeakerClustering.Point(vector: $0, weight: Double($1)) }
        }
        let top = SpeakerClustering.clusterInBlocks(points, threshold: threshold)
        return owner.map { top[$0] }
    }

    /// Speech as runs of frames. The energy, smoothed over 50 ms, is compared with a threshold
    /// set between the chunk's noise floor (its 10th percentile) and its speech level (95th):
    /// 30% of the way up, and at least 4 dB over the floor, at most 6 dB under the speech
    /// level, never below -60 dBFS (digital silence, or a hiss far under any voice, is not
    /// speech). A fixed margin over the floor (15 dB, before) lost most speech at 10 dB SNR;
    /// this one follows the gap between noise and speech. Short gaps are bridged and short
    /// bursts dropped.
    static func speechRegions(_ energy: [Float]) -> [Range<Int>] {
        guard !energy.isEmpty else { return [] }
        var smoothed = [Float](repeating: 0, count: energy.count)
        for i in energy.indices {
            let lower = max(0, i - 2)
            let upper = min(energy.count, i + 3)
            smoothed[i] = energy[lower..<upper].reduce(0, +) / Float(upper - lower)
        }
        let sorted = smoothed.sorted()
        let floor = sorted[sorted.count / 10]
        let peak = sorted[sorted.count - 1 - sorted.count / 20]
        let threshold = speechThreshold(floor: floor, peak: peak)
        var runs: [Range<Int>] = []
        var start: Int?
        for (i, e) in smoothed.enumerated() {
            if e > threshold {
                if start == nil { start = i }
            } else if let s = start {
                runs.append(s..<i)
                start = nil
            }
        }
        if let s = start { runs.append(s..<smoothed.count) }
        var bridged: [Range<Int>] = []
        for run in runs {
            if let last = bridged.last, run.lowerBound - last.upperBound < bridgeFrames {
                bridged[bridged.count - 1] = last.lowerBound..<run.upperBound
            } else {
                bridged.append(run)
            }
        }
        return bridged.filter { $0.count >= minimumSpeechFrames }
    }

    /// The level (dBFS) above which a frame is speech, for a recording whose noise floor and
    /// speech level are `floor` and `peak`: 30% of the way up, at least 4 dB over the floor, at
    /// most 6 dB under the speech level, never below -60 dBFS.
    static func speechThreshold<Level: BinaryFloatingPoint>(floor: Level, peak: Level) -> Level {
        max(min(floor + max(4, 0.3 * (peak - floor)), peak - 6), -60)
    }

    /// Mean and standard deviation of MFCC 1–19 over `frames`.
    static func embedding(_ frames: ArraySlice<SpeakerFeatures.Frame>) -> [Double] {
        let dims = SpeakerFeatures.coefficients
        var mean = [Double](repeating: 0, count: dims)
        var square = [Double](repeating: 0, count: dims)
        for frame in frames {
            for d in 0..<dims {
                let v = Double(frame.mfcc[d])
                mean[d] += v
                square[d] += v * v
            }
        }
        let n = Double(max(1, frames.count))
        let m = mean.map { $0 / n }
        let s = zip(square, m).map { max(0, $0 / n - $1 * $1).squareRoot() }
        return m + s
    }

    // MARK: - ManagedResource

    public var resourceName: String { "diarization" }

    public func footprintBytes() async -> Int {
        state.withLock {
            $0.store.windows.count * MemoryLayout<Window>.stride + $0.regions.count * 16 + $0.store.values.count * 4
        }
    }

    /// Nothing idle: the run's statistics are needed until it finishes.
    public func releaseIdle() async {}

    public func close() async {
        thread.shutdown()
        state.withLock { $0 = State() }
    }
}

/// The first diarization error of a run, kept so that transcription goes on without labels.
final class DiarizationFailure: Sendable {
    private let first = Mutex<(any Error)?>(nil)

    var error: (any Error)? { first.withLock { $0 } }

    func record(_ error: any Error) {
        first.withLock { if $0 == nil { $0 = error } }
    }
}
