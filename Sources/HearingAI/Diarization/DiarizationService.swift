import Foundation
import Synchronization

/// Finds who spoke when, offline, with classical signal processing: an energy voice-activity
/// detector, MFCC statistics over 1.5-second windows, and clustering with the number of
/// speakers found automatically.
///
/// It works chunk by chunk beside transcription and never holds the file's audio: each chunk's
/// windows are clustered locally (conservatively, so one speaker may split but two rarely
/// merge), and only the local clusters' centroids are kept. At the end of the file the
/// centroids of all chunks are clustered together, which links "Speaker 1" of the first chunk
/// to the same voice in the last. For a three-hour file that is about a thousand centroids.
///
/// Feature extraction runs on a thread of the service's own. Register the service with the
/// ``ResourceManager``; ``close()`` ends its thread and drops its state.
public final class DiarizationService: ManagedResource {
    /// Bytes reserved against the memory budget while a run is diarized: a chunk's frames
    /// (about 0.3 MB for 30 s) and the windows' statistics (about 3.6 MB for three hours).
    public static let reservedBytes = 4 * 1_048_576

    /// Window length and hop, in 10 ms frames.
    static let windowFrames = 150
    static let windowHop = 75
    /// Gaps in speech shorter than this (frames) are bridged; bursts shorter than this dropped.
    static let bridgeFrames = 30
    static let minimumSpeechFrames = 10
    /// Neighbouring windows further apart than this start a new segment (a change of speaker
    /// without a pause).
    static let changeThreshold = 1.8
    /// Scores under which segments (in a chunk) and centroids (across the file) merge; chosen
    /// on two- and three-voice conversations (docs/benchmarks.md): every threshold from 3 to 4
    /// found the right number of speakers on each, 2.5 split a voice, 5 merged two.
    static let localThreshold = 1.0
    static let globalThreshold = 3.5

    /// The options in force.
    public let options: DiarizationOptions
    private let thread = BlockingThread(name: "diarizer")
    private let features = SpeakerFeatures()

    private struct Window {
        var start: Double
        var end: Double
        var embedding: [Double]
        var centroid: Int
    }

    private struct State {
        var windows: [Window] = []
        var regions: [(start: Double, end: Double)] = []
        var centroids: [SpeakerClustering.Point] = []
        var count = 0.0
        var mean = [Double](repeating: 0, count: 2 * SpeakerFeatures.coefficients)
        var m2 = [Double](repeating: 0, count: 2 * SpeakerFeatures.coefficients)
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
        let result = try await thread.run { () -> (windows: [Window], regions: [(Double, Double)], centroids: [SpeakerClustering.Point], seconds: Double) in
            let clock = ContinuousClock()
            let started = clock.now
            let from = Int(chunk.ownedStart - chunk.audioStart)
            let to = Int(chunk.ownedEnd - chunk.audioStart)
            let frames = features.frames(of: chunk.samples[from..<min(to + SpeakerFeatures.frameLength, chunk.samples.count)])
                .prefix(max(0, (to - from) / SpeakerFeatures.hop))
            let origin = fileOffset + Double(chunk.ownedStart) / Double(ChunkPlan.sampleRate)
            let time = { (frame: Int) in origin + Double(frame * SpeakerFeatures.hop) / Double(ChunkPlan.sampleRate) }
            var windows: [Window] = []
            var regions: [(Double, Double)] = []
            for region in Self.speechRegions(Array(frames.map(\.energy))) {
                let length = region.upperBound - region.lowerBound
                regions.append((time(region.lowerBound), time(region.upperBound)))
                guard length >= Self.bridgeFrames else { continue }
                var start = region.lowerBound
                while true {
                    let end = min(region.upperBound, start + Self.windowFrames)
                    let first = max(region.lowerBound, end - Self.windowFrames)
                    windows.append(Window(start: time(first), end: time(end), embedding: Self.embedding(frames[(frames.startIndex + first)..<(frames.startIndex + end)]), centroid: 0))
                    if end >= region.upperBound { break }
                    start += Self.windowHop
                }
            }
            // Segments: runs of windows in one speech region, cut where neighbours differ a lot.
            let standardized = Self.standardize(windows.map(\.embedding))
            var segmentOf = [Int](repeating: 0, count: windows.count)
            var segments: [SpeakerClustering.Point] = []
            for i in windows.indices {
                let joins = i > 0 && windows[i].start < windows[i - 1].end
                    && SpeakerClustering.score(.init(vector: standardized[i], weight: 1), .init(vector: standardized[i - 1], weight: 1)) * 2 < Self.changeThreshold * Self.changeThreshold
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
            var centroids: [SpeakerClustering.Point] = []
            for label in Set(labels).sorted() {
                let members = labels.indices.filter { labels[$0] == label }
                var sum = [Double](repeating: 0, count: windows[0].embedding.count)
                for m in members { for d in sum.indices { sum[d] += windows[m].embedding[d] } }
                centroids.append(.init(vector: sum.map { $0 / Double(members.count) }, weight: Double(members.count)))
                for m in members { windows[m].centroid = centroids.count - 1 }
            }
            return (windows, regions, centroids, (clock.now - started).seconds)
        }
        state.withLock { state in
            let base = state.centroids.count
            for var window in result.windows {
                window.centroid += base
                state.windows.append(window)
                // Welford's running mean and variance, for standardising across the file.
                state.count += 1
                for d in window.embedding.indices {
                    let delta = window.embedding[d] - state.mean[d]
                    state.mean[d] += delta / state.count
                    state.m2[d] += delta * (window.embedding[d] - state.mean[d])
                }
            }
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
        let std = state.m2.map { ($0 / max(1, state.count - 1)).squareRoot() }
        let points = state.centroids.map { point in
            SpeakerClustering.Point(vector: zip(zip(point.vector, state.mean), std).map { ($0.0 - $0.1) / max($1, 1e-6) }, weight: point.weight)
        }
        let minimum = options.speakers ?? options.minSpeakers
        let maximum = options.speakers ?? options.maxSpeakers
        let labels = SpeakerClustering.cluster(points, threshold: options.speakers == nil ? globalThreshold : 0, minClusters: minimum, maxClusters: maximum)
        var windows = state.windows.sorted { $0.start < $1.start }
        var windowLabels = windows.map { labels[$0.centroid] }
        // A lone window between two agreeing neighbours takes their label.
        for i in windowLabels.indices.dropFirst().dropLast()
        where windowLabels[i - 1] == windowLabels[i + 1] && windowLabels[i] != windowLabels[i - 1]
            && windows[i + 1].start - windows[i - 1].end < 1.0 {
            windowLabels[i] = windowLabels[i - 1]
        }
        windows = windows.enumerated().map { var w = $1; w.centroid = windowLabels[$0]; return w }

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
                let end = i + 1 < inside.count ? ((window.start + window.end) / 2 + (inside[i + 1].start + inside[i + 1].end) / 2) / 2 : region.end
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
            let name = names[piece.label] ?? { let n = "Speaker \(names.count + 1)"; names[piece.label] = n; return n }()
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
        state.withLock { $0.windows.count * (24 * 8 + 48) + $0.centroids.count * (24 * 8 + 16) }
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
