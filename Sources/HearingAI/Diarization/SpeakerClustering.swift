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

    static func score(_ a: Point, _ b: Point) -> Double {
        var sum = 0.0
        for (x, y) in zip(a.vector, b.vector) { sum += (x - y) * (x - y) }
        return sum / Double(a.vector.count) / (1 / a.weight + 1 / b.weight + floor)
    }

    /// Cluster labels for `points`: merge the closest pair while its score is under
    /// `threshold` or more than `maxClusters` remain, and never below `minClusters`.
    static func cluster(_ points: [Point], threshold: Double, minClusters: Int = 1, maxClusters: Int = .max) -> [Int] {
        let n = points.count
        guard n > 1 else { return Array(repeating: 0, count: n) }
        var clusters = points
        var active = Array(repeating: true, count: n)
        var members = (0..<n).map { [$0] }
        var score = [[Double]](repeating: [Double](repeating: .infinity, count: n), count: n)
        for i in 0..<n { for j in (i + 1)..<n { score[i][j] = Self.score(clusters[i], clusters[j]); score[j][i] = score[i][j] } }
        var remaining = n
        while remaining > max(1, minClusters) {
            var best = (i: -1, j: -1, s: Double.infinity)
            for i in 0..<n where active[i] {
                for j in (i + 1)..<n where active[j] && score[i][j] < best.s { best = (i, j, score[i][j]) }
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
                score[i][k] = Self.score(clusters[i], clusters[k])
                score[k][i] = score[i][k]
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
}
