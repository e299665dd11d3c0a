import Foundation
import Synchronization

/// Finds who spoke when, offline, with classical signal processing: an energy voice-activity
/// detector, MFCC statistics over 1.5-second windows, and clustering with the number of
/// speakers found automatically.
///
/// It works chunk by chunk beside transcription and never holds the file's audio: each chunk's
/// windows are clustered locally (conservatively, so one speaker may split but two rarely
/// merge), and only the local clusters' centroids are kept, with the scatter of the windows
/// about them (how one voice varies, summed over the file). At the end of the file the
/// centroids of all chunks, whitened by that within-speaker scatter, are clustered together,
/// which links "Speaker 1" of the first chunk to the same voice in the last. For a three-hour
/// file that is one to three thousand centroids, clustered in blocks of 256.
///
/// Feature extraction runs on a thread of the service's own. Register the service with the
/// ``ResourceManager``; ``close()`` ends its thread and drops its state.
public final class DiarizationService: ManagedResource {
    /// Bytes reserved against the memory budget while a run is diarized: a chunk's frames
    /// (about 0.3 MB for 30 s), then per window 24 bytes, per local cluster about 250, and at
    /// the end the whitened centroids, a sorted copy of the windows and a score matrix of at
    /// most 256 × 256 (512 KB). Three hours of uninterrupted speech in 10-second chunks come to
    /// about 3.7 MB at the end, in 30-second chunks about 3 MB (docs/memory-management.md).
    public static let reservedBytes = 4 * 1_048_576

    /// What a run over `seconds` of audio reserves: ``reservedBytes`` up to three hours, and
    /// 1.25 MB for every further hour (the windows and local clusters of an hour of
    /// uninterrupted speech in 10-second chunks, about 1.2 MB, rounded up), so the limit holds
    /// for files of any length.
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
    /// Neighbouring windows further apart than this start a new segment (a change of speaker
    /// without a pause).
    static let changeThreshold = 1.8
    /// Scores under which segments (in a chunk, standardised per chunk) and local clusters
    /// (across the file, whitened by the within-speaker covariance) merge. The global one was
    /// chosen on 18 files from 1 to 62 minutes (1–3 voices, 10 and 30 s chunks) and 28 clips of
    /// 8–25 s: every threshold from 16 to 21 found the right speakers on all of them (the long
    /// files alone allow 15–40); see docs/benchmarks.md.
    static let localThreshold = 1.0
    static let globalThreshold = 18.0

    /// The options in force.
    public let options: DiarizationOptions
    private let thread = BlockingThread(name: "diarizer")
    private let features = SpeakerFeatures()

    /// A window as kept for the run: where it is and which local cluster it joined (its
    /// embedding is not kept: 24 bytes a window).
    private struct Window {
        var start: Double
        var end: Double
        var centroid: Int
    }

    /// A local cluster: its mean embedding and window count, and where its first window starts
    /// (chunks arrive in any order; this puts the clusters in time order at the end).
    private struct Centroid {
        var point: SpeakerClustering.Point
        var start: Double
    }

    private static let dimensions = 2 * SpeakerFeatures.coefficients

    private struct State {
        var windows: [Window] = []
        var regions: [(start: Double, end: Double)] = []
        var centroids: [Centroid] = []
        /// Σ (x − c)(x − c)ᵀ of every window's embedding x about its local cluster's mean c:
        /// how one voice varies, for ``SpeakerClustering/Whitening`` (24 × 24, 4.6 KB).
        var scatter = [Double](repeating: 0, count: dimensions * dimensions)
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
            () -> (windows: [Window], regions: [(Double, Double)], centroids: [Centroid], scatter: [Double], seconds: Double) in
            let clock = ContinuousClock()
            let started = clock.now
            let from = Int(chunk.ownedStart - chunk.audioStart)
            let to = Int(chunk.ownedEnd - chunk.audioStart)
            let frames = features.frames(of: chunk.samples[from..<min(to + SpeakerFeatures.frameLength, chunk.samples.count)])
                .prefix(max(0, (to - from) / SpeakerFeatures.hop))
            let origin = fileOffset + Double(chunk.ownedStart) / Double(ChunkPlan.sampleRate)
            let time = { (frame: Int) in origin + Double(frame * SpeakerFeatures.hop) / Double(ChunkPlan.sampleRate) }
            var windows: [Window] = []
            var embeddings: [[Double]] = []
            var regions: [(Double, Double)] = []
            for region in Self.speechRegions(Array(frames.map(\.energy))) {
                let length = region.upperBound - region.lowerBound
                regions.append((time(region.lowerBound), time(region.upperBound)))
                guard length >= Self.bridgeFrames else { continue }
                var start = region.lowerBound
                while true {
                    let end = min(region.upperBound, start + Self.windowFrames)
                    let first = max(region.lowerBound, end - Self.windowFrames)
                    windows.append(Window(start: time(first), end: time(end), centroid: 0))
                    embeddings.append(Self.embedding(frames[(frames.startIndex + first)..<(frames.startIndex + end)]))
                    if end >= region.upperBound { break }
                    start += Self.windowHop
                }
            }
            // Segments: runs of windows in one speech region, cut where neighbours differ a lot.
            let standardized = Self.standardize(embeddings)
            var segmentOf = [Int](repeating: 0, count: windows.count)
            var segments: [SpeakerClustering.Point] = []
            for i in windows.indices {
                let joins =
                    i > 0 && windows[i].start < windows[i - 1].end
                    && SpeakerClustering.score(.init(vector: standardized[i], weight: 1), .init(vector: standardized[i - 1], weight: 1)) * 2
                        < Self.changeThreshold * Self.changeThreshold
                if joins {
                    let s = segments.count - 1
                    let w = segments[s].weight
                    segments[s].vector = zip(segments[s].vector, standardized[i]).map { ($0 * w + $1) / (w + 1) }
                    segments[s].weight = w + 1
                } else {
                    segments.append(.init(vector: standardized[i], weight: 1))
                }
                segmentOf[i] = segments.count - 1
            }
            // Local clusters: conservative, so that two speakers are not merged here.
            let segmentLabels = SpeakerClustering.cluster(segments, threshold: Self.localThreshold)
            let labels = segmentOf.map { segmentLabels[$0] }
            var centroids: [Centroid] = []
            let d = Self.dimensions
            var scatter = [Double](repeating: 0, count: d * d)
            for label in Set(labels).sorted() {
                let members = labels.indices.filter { labels[$0] == label }
                var sum = [Double](repeating: 0, count: d)
                for m in members { for k in sum.indices { sum[k] += embeddings[m][k] } }
                let mean = sum.map { $0 / Double(members.count) }
                centroids.append(Centroid(point: .init(vector: mean, weight: Double(members.count)), start: windows[members[0]].start))
                for m in members {
                    windows[m].centroid = centroids.count - 1
                    let r = zip(embeddings[m], mean).map { $0 - $1 }
                    for i in 0..<d { for j in 0..<d { scatter[i * d + j] += r[i] * r[j] } }
                }
            }
            return (windows, regions, centroids, scatter, (clock.now - started).seconds)
        }
        state.withLock { state in
            let base = state.centroids.count
            for var window in result.windows {
                window.centroid += base
                state.windows.append(window)
            }
            for k in state.scatter.indices { state.scatter[k] += result.scatter[k] }
            state.centroids += result.centroids
            state.regions += result.regions.map { (start: $0.0, end: $0.1) }
            state.seconds += result.seconds
        }
    }

    /// Links the chunks' speakers across the file and returns the turns, in time order.
    public func finish() async throws -> [SpeakerTurn] {
        let options = self.options
        let snapshot = state.withLock { $0 }
        let clock = ContinuousClock()
        let started = clock.now
        let turns = try await thread.run { Self.turns(from: snapshot, options: options) }
        state.withLock { $0.seconds += (clock.now - started).seconds }
        return turns
    }

    private static func turns(from state: State, options: DiarizationOptions) -> [SpeakerTurn] {
        guard !state.windows.isEmpty else {
            // Speech too short for any window: one speaker, if any speech at all.
            return state.regions.map { SpeakerTurn(start: $0.start, end: $0.end, speaker: "Speaker 1") }
        }
        // The local clusters in time order, whatever order the chunks came in.
        let order = state.centroids.indices.sorted { state.centroids[$0].start < state.centroids[$1].start }
        let centroids = order.map { state.centroids[$0].point }
        let d = dimensions
        let total = centroids.reduce(0) { $0 + $1.weight }
        var mean = [Double](repeating: 0, count: d)
        for c in centroids { for k in 0..<d { mean[k] += c.vector[k] * c.weight / total } }
        // Only if no local cluster has two windows: the spread of the clusters' means.
        var spread = [Double](repeating: 0, count: d)
        for c in centroids { for k in 0..<d { spread[k] += (c.vector[k] - mean[k]) * (c.vector[k] - mean[k]) * c.weight / total } }
        let whiten = SpeakerClustering.Whitening(
            mean: mean, scatter: state.scatter,
            degrees: state.windows.count - state.centroids.count, fallback: spread)
        let points = centroids.map { SpeakerClustering.Point(vector: whiten($0.vector), weight: $0.weight) }
        let minimum = options.speakers ?? options.minSpeakers
        let maximum = options.speakers ?? options.maxSpeakers
        let sortedLabels = SpeakerClustering.clusterInBlocks(points, threshold: globalThreshold, minClusters: minimum, maxClusters: maximum)
        var labels = [Int](repeating: 0, count: order.count)
        for (position, index) in order.enumerated() { labels[index] = sortedLabels[position] }
        var windows = state.windows.sorted { $0.start < $1.start }
        var windowLabels = windows.map { labels[$0.centroid] }
        // A lone window between two agreeing neighbours takes their label.
        for i in windowLabels.indices.dropFirst().dropLast()
        where windowLabels[i - 1] == windowLabels[i + 1] && windowLabels[i] != windowLabels[i - 1]
            && windows[i + 1].start - windows[i - 1].end < 1.0
        {
            windowLabels[i] = windowLabels[i - 1]
        }
        windows = windows.enumerated().map {
            var w = $1
            w.centroid = windowLabels[$0]
            return w
        }

        // Each speech region is split between the windows inside it at the midpoints between
        // their centres; a region with no window takes the label of the nearest one.
        var raw: [(start: Double, end: Double, label: Int)] = []
        for region in state.regions.sorted(by: { $0.start < $1.start }) {
            let inside = windows.filter { $0.start >= region.start - 0.01 && $0.end <= region.end + 0.01 }
            if inside.isEmpty {
                let centre = (region.start + region.end) / 2
                let nearest = windows.min { abs(($0.start + $0.end) / 2 - centre) < abs(($1.start + $1.end) / 2 - centre) }!
                raw.append((region.start, region.end, nearest.centroid))
                continue
            }
            var cursor = region.start
            for (i, window) in inside.enumerated() {
                let end =
                    i + 1 < inside.count
                    ? ((window.start + window.end) / 2 + (inside[i + 1].start + inside[i + 1].end) / 2) / 2 : region.end
                raw.append((cursor, end, window.centroid))
                cursor = end
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

    /// Speech as runs of frames: over an energy threshold set from the chunk's own noise floor,
    /// short gaps bridged and short bursts dropped.
    static func speechRegions(_ energy: [Float]) -> [Range<Int>] {
        guard !energy.isEmpty else { return [] }
        let sorted = energy.sorted()
        let floor = sorted[sorted.count / 10]
        let peak = sorted[sorted.count - 1 - sorted.count / 100]
        // Never below -60 dBFS: digital silence, or a hiss far under any voice, is not speech.
        let threshold = max(min(max(floor + 15, -55), peak - 6), -60)
        var runs: [Range<Int>] = []
        var start: Int?
        for (i, e) in energy.enumerated() {
            if e > threshold {
                if start == nil { start = i }
            } else if let s = start {
                runs.append(s..<i)
                start = nil
            }
        }
        if let s = start { runs.append(s..<energy.count) }
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

    /// Mean and standard deviation of MFCC 1–12 over `frames`.
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

    /// Each dimension scaled to zero mean and unit variance over `vectors`.
    static func standardize(_ vectors: [[Double]]) -> [[Double]] {
        guard let first = vectors.first else { return [] }
        let n = Double(vectors.count)
        var mean = [Double](repeating: 0, count: first.count)
        for v in vectors { for d in v.indices { mean[d] += v[d] / n } }
        var variance = [Double](repeating: 0, count: first.count)
        for v in vectors { for d in v.indices { variance[d] += (v[d] - mean[d]) * (v[d] - mean[d]) / n } }
        // A floor on the spread, so that a chunk with one speaker is not blown up into noise.
        let std = variance.map { max($0.squareRoot(), 1.0) }
        return vectors.map { v in v.indices.map { (v[$0] - mean[$0]) / std[$0] } }
    }

    // MARK: - ManagedResource

    public var resourceName: String { "diarization" }

    public func footprintBytes() async -> Int {
        state.withLock {
            $0.windows.count * MemoryLayout<Window>.stride + $0.regions.count * 16
                + $0.centroids.count * (MemoryLayout<Centroid>.stride + 32 + Self.dimensions * 8) + $0.scatter.count * 8
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
