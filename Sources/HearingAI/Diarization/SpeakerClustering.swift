/// Agglomerative clustering of speaker statistics.
///
/// Each point is the mean embedding of some windows and their count. Two clusters merge when
/// the distance between their means, scaled by how many windows stand behind each, is small:
/// `S(A, B) = |μA − μB|² / d / (1/nA + 1/nB + floor)`. For the same speaker the means differ only by
/// noise, which shrinks as clusters grow, so `S` stays near the within-speaker variance; for
/// two speakers it grows with the clusters' sizes. Merging the closest pair while `S` is under
/// a threshold therefore joins a voice's pieces and stops between voices.
struct SpeakerClustering {
    struct Point {
        var vector: [Double]
        var weight: Double
    }

    /// The within-speaker variation that does not average out (what is said, how): without
    /// it the score of one voice's two large clusters would grow with their size too.
    static let floor = 0.1

    /// At most this many points are clustered at once (a score matrix of 512 KB); more are
    /// first clustered in consecutive blocks of this size (see ``clusterInBlocks``).
    static let blockSize = 256

    static func score(_ a: Point, _ b: Point) -> Double {
        var sum = 0.0
        for (x, y) in zip(a.vector, b.vector) { sum += (x - y) * (x - y) }
        return sum / Double(a.vector.count) / (1 / a.weight + 1 / b.weight + floor)
    }

    /// Cluster labels for `points`: merge the closest pair while its score is under
    /// `threshold` or more than `maxClusters` remain, and never below `minClusters`.
    /// Labels are numbered in order of each cluster's first point. Holds an n×n score matrix.
    static func cluster(_ points: [Point], threshold: Double, minClusters: Int = 1, maxClusters: Int = .max) -> [Int] {
        let n = points.count
        guard n > 1 else { return Array(repeating: 0, count: n) }
        var clusters = points
        var active = Array(repeating: true, count: n)
        var members = (0..<n).map { [$0] }
        var score = [Double](repeating: .infinity, count: n * n)
        for i in 0..<n {
            for j in (i + 1)..<n {
                score[i * n + j] = Self.score(clusters[i], clusters[j])
                score[j * n + i] = score[i * n + j]
            }
        }
        var remaining = n
        while remaining > max(1, minClusters) {
            var best = (i: -1, j: -1, s: Double.infinity)
            for i in 0..<n where active[i] {
                for j in (i + 1)..<n where active[j] && score[i * n + j] < best.s { best = (i, j, score[i * n + j]) }
            }
            guard best.i >= 0, best.s < threshold || remaining > maxClusters else { break }
            let (i, j) = (best.i, best.j)
            let total = clusters[i].weight + clusters[j].weight
            clusters[i].vector = zip(clusters[i].vector, clusters[j].vector).map {
                ($0 * clusters[i].weight + $1 * clusters[j].weight) / total
            }
            clusters[i].weight = total
            members[i] += members[j]
            active[j] = false
            remaining -= 1
            for k in 0..<n where active[k] && k != i {
                score[i * n + k] = Self.score(clusters[i], clusters[k])
                score[k * n + i] = score[i * n + k]
            }
        }
        var labels = [Int](repeating: 0, count: n)
        var next = 0
        for i in 0..<n where active[i] {
            for m in members[i] { labels[m] = next }
            next += 1
        }
        return labels
    }

    /// ``cluster`` with memory and time bounded by `blockSize`: while more than `blockSize`
    /// points remain, each run of `blockSize` consecutive points (in the order given, which
    /// should be time order) is clustered under `threshold` and replaced by its clusters'
    /// weighted means; then the rest are clustered under `threshold`, `minClusters` and
    /// `maxClusters`. A pass that merges nothing forces each block down to half its size, so
    /// the score matrix never exceeds `blockSize`² entries. With `blockSize` or fewer points
    /// this is exactly ``cluster``.
    static func clusterInBlocks(
        _ points: [Point], threshold: Double, minClusters: Int = 1, maxClusters: Int = .max,
        blockSize: Int = Self.blockSize
    ) -> [Int] {
        var current = points
        // The cluster (index into `current`) each original point belongs to.
        var owner = Array(points.indices)
        var force = false
        while current.count > blockSize {
            var next: [Point] = []
            var mapped = [Int](repeating: 0, count: current.count)
            for start in stride(from: 0, to: current.count, by: blockSize) {
                let block = Array(current[start..<min(start + blockSize, current.count)])
                let labels = cluster(block, threshold: threshold, maxClusters: force ? block.count / 2 : .max)
                let base = next.count
                for label in 0...(labels.max() ?? 0) {
                    let members = labels.indices.filter { labels[$0] == label }
                    let weight = members.reduce(0) { $0 + block[$1].weight }
                    var vector = [Double](repeating: 0, count: block[0].vector.count)
                    for m in members { for d in vector.indices { vector[d] += block[m].vector[d] * block[m].weight / weight } }
                    next.append(Point(vector: vector, weight: weight))
                }
                for (k, label) in labels.enumerated() { mapped[start + k] = base + label }
            }
            force = next.count == current.count
            owner = owner.map { mapped[$0] }
            current = next
        }
        let labels = cluster(current, threshold: threshold, minClusters: minClusters, maxClusters: maxClusters)
        return owner.map { labels[$0] }
    }

    /// Whitening by the within-speaker covariance: `x ↦ L⁻¹(x − mean)` with `L Lᵀ = W`, where
    /// `W` is the scatter of windows about their own (single-speaker) local cluster's mean,
    /// divided by its degrees of freedom, plus `loading` times its average variance on the
    /// diagonal (so that directions the few within-cluster differences did not reach are not
    /// blown up). Distances after it count in units of how much one voice varies — what is
    /// said, how — so that directions in which voices differ but one voice barely moves weigh
    /// most (the idea of WCCN and LDA, estimated from the file itself).
    struct Whitening {
        /// 1.0: estimated from a 30-second file's few window pairs, the covariance is rough, and
        /// a smaller loading let its chance directions decide (docs/benchmarks.md, issue 13).
        static let loading = 1.0

        let mean: [Double]
        /// Lower-triangular Cholesky factor of the regularised within-speaker covariance, row-major.
        let factor: [Double]
        let dimensions: Int

        /// `scatter`: Σ (x − c)(x − c)ᵀ over windows x with local centroid c, row-major
        /// `d × d`; `degrees`: windows less local clusters. With no degrees of freedom (every
        /// local cluster a single window) `fallback`, a per-dimension variance, stands in.
        init(mean: [Double], scatter: [Double], degrees: Int, fallback: [Double]) {
            let d = mean.count
            var w = [Double](repeating: 0, count: d * d)
            if degrees > 0 {
                for k in w.indices { w[k] = scatter[k] / Double(degrees) }
            } else {
                for i in 0..<d { w[i * d + i] = fallback[i] }
            }
            let average = (0..<d).reduce(0) { $0 + w[$1 * d + $1] } / Double(d)
            for i in 0..<d { w[i * d + i] += Self.loading * average + 1e-9 }
            // Cholesky: w = L Lᵀ. The loading keeps it positive definite.
            var l = [Double](repeating: 0, count: d * d)
            for i in 0..<d {
                for j in 0...i {
                    var sum = w[i * d + j]
                    for k in 0..<j { sum -= l[i * d + k] * l[j * d + k] }
                    l[i * d + j] = i == j ? max(sum, 1e-12).squareRoot() : sum / l[j * d + j]
                }
            }
            self.mean = mean
            factor = l
            dimensions = d
        }

        /// `L⁻¹(x − mean)`, by forward substitution.
        func callAsFunction(_ x: [Double]) -> [Double] {
            let d = dimensions
            var y = [Double](repeating: 0, count: d)
            for i in 0..<d {
                var sum = x[i] - mean[i]
                for k in 0..<i { sum -= factor[i * d + k] * y[k] }
                y[i] = sum / factor[i * d + i]
            }
            return y
        }
    }
}
