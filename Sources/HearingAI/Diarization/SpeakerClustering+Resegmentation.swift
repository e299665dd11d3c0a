/// The revisable end of diarization: once the whole file's windows are known, the clusters
/// found by ``SpeakerClustering/cluster`` are brought within the speaker-count bounds (small
/// clusters folded into their nearest neighbour, too many merged, too few split), every window
/// is re-assigned to the final centroids (k-means), and the file is resegmented by a Viterbi
/// pass over the windows in time order, which pays a penalty for a change of speaker inside a
/// speech region. None of it can lose a speaker: a pass that would empty a cluster is not taken.
extension SpeakerClustering {
    /// Row-major `count × dimensions` vectors (whitened window embeddings), as `Float` to halve
    /// what a long file holds.
    struct Vectors {
        var values: [Float]
        let dimensions: Int

        var count: Int { dimensions == 0 ? 0 : values.count / dimensions }

        /// Squared distance of row `i` to `centre`.
        func distance(_ i: Int, _ centre: [Double]) -> Double {
            var sum = 0.0
            let base = i * dimensions
            for k in 0..<dimensions {
                let x = Double(values[base + k]) - centre[k]
                sum += x * x
            }
            return sum
        }

        /// Means of the rows of each label (`clusters` of them); a label without rows keeps zeros.
        func centroids(_ labels: [Int], clusters: Int) -> (centres: [[Double]], sizes: [Int]) {
            var centres = [[Double]](repeating: [Double](repeating: 0, count: dimensions), count: clusters)
            var sizes = [Int](repeating: 0, count: clusters)
            for (i, label) in labels.enumerated() {
                sizes[label] += 1
                let base = i * dimensions
                for k in 0..<dimensions { centres[label][k] += Double(values[base + k]) }
            }
            for c in 0..<clusters where sizes[c] > 0 {
                for k in 0..<dimensions { centres[c][k] /= Double(sizes[c]) }
            }
            return (centres, sizes)
        }
    }

    /// A cluster holding less than this share of the windows (and never fewer than two) is
    /// taken for a stray — a cough, a laugh, a door — and folded into its nearest neighbour
    /// before the bounds are applied; otherwise `--speakers 2` could be met by a one-window
    /// "speaker" and the second voice stay merged with the first.
    static let strayShare = 0.05
    /// What a change of speaker between neighbouring windows of one speech region costs the
    /// Viterbi pass, in units of half a squared whitened distance; across a pause it is free.
    static let switchPenalty = 3.0
    /// k-means starts besides the clustering's own partition (farthest-point seeds).
    static let restarts = 8

    /// `labels` (any numbering) brought to between `minClusters` and `maxClusters` clusters,
    /// numbered 0..<k by first appearance. With at least `minClusters` rows the result has at
    /// least `minClusters` clusters.
    static func settle(_ vectors: Vectors, labels: [Int], minClusters: Int, maxClusters: Int) -> [Int] {
        let n = vectors.count
        var labels = renumbered(labels)
        // Strays into their nearest neighbour.
        let smallest = max(2.0, strayShare * Double(n))
        while true {
            let k = (labels.max() ?? -1) + 1
            guard k > 1 else { break }
            let (centres, sizes) = vectors.centroids(labels, clusters: k)
            guard let stray = (0..<k).filter({ Double(sizes[$0]) < smallest }).min(by: { sizes[$0] < sizes[$1] }) else { break }
            for i in labels.indices where labels[i] == stray {
                labels[i] = (0..<k).filter { $0 != stray }.min { vectors.distance(i, centres[$0]) < vectors.distance(i, centres[$1]) }!
            }
            labels = renumbered(labels)
        }
        // Too many: merge the closest pair (the clustering's score).
        while (labels.max() ?? -1) + 1 > maxClusters {
            let k = labels.max()! + 1
            let (centres, sizes) = vectors.centroids(labels, clusters: k)
            var best = (a: 0, b: 1, score: Double.infinity)
            for a in 0..<k {
                for b in (a + 1)..<k {
                    let s = score(
                        Point(vector: centres[a], weight: Double(sizes[a])), Point(vector: centres[b], weight: Double(sizes[b])))
                    if s < best.score { best = (a, b, s) }
                }
            }
            labels = renumbered(labels.map { $0 == best.b ? best.a : $0 })
        }
        // Too few: split the cluster with the largest scatter in two along its main axis.
        while (labels.max() ?? -1) + 1 < min(minClusters, n) {
            let k = (labels.max() ?? -1) + 1
            let (centres, sizes) = vectors.centroids(labels, clusters: k)
            var scatter = [Double](repeating: 0, count: k)
            for i in labels.indices { scatter[labels[i]] += vectors.distance(i, centres[labels[i]]) }
            let widest = (0..<k).filter { sizes[$0] > 1 }.max { scatter[$0] < scatter[$1] }!
            let members = labels.indices.filter { labels[$0] == widest }
            let halves = split(vectors, members: members, centre: centres[widest])
            for (m, half) in zip(members, halves) where half == 1 { labels[m] = k }
        }
        return labels
    }

    /// `members` of one cluster in two: by the side of the centre they lie on along the
    /// cluster's principal axis (power iteration), then 2-means; never an empty half.
    static func split(_ vectors: Vectors, members: [Int], centre: [Double]) -> [Int] {
        let d = vectors.dimensions
        var axis = [Double](repeating: 1 / Double(d).squareRoot(), count: d)
        for _ in 0..<20 {
            var next = [Double](repeating: 0, count: d)
            for m in members {
                var dot = 0.0
                for k in 0..<d { dot += (Double(vectors.values[m * d + k]) - centre[k]) * axis[k] }
                for k in 0..<d { next[k] += dot * (Double(vectors.values[m * d + k]) - centre[k]) }
            }
            let norm = next.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { break }
            axis = next.map { $0 / norm }
        }
        var halves = members.map { m in
            (0..<d).reduce(0.0) { $0 + (Double(vectors.values[m * d + $1]) - centre[$1]) * axis[$1] } > 0 ? 1 : 0
        }
        let sub = Vectors(values: members.flatMap { m in vectors.values[(m * d)..<(m * d + d)] }, dimensions: d)
        if Set(halves).count == 2, let refined = lloyd(sub, labels: halves, clusters: 2) { halves = refined.labels }
        if Set(halves).count < 2 {
            // All points alike: any even split keeps the promise.
            halves = members.indices.map { $0 < members.count / 2 ? 0 : 1 }
        }
        return halves
    }

    /// k-means from `labels`: `nil` if a cluster empties on the way.
    static func lloyd(_ vectors: Vectors, labels start: [Int], clusters k: Int, iterations: Int = 20) -> (
        labels: [Int], cost: Double
    )? {
        var labels = start
        for _ in 0..<iterations {
            let (centres, sizes) = vectors.centroids(labels, clusters: k)
            guard !sizes.contains(0) else { return nil }
            let next = labels.indices.map { i in (0..<k).min { vectors.distance(i, centres[$0]) < vectors.distance(i, centres[$1]) }! }
            if next == labels { break }
            labels = next
        }
        let (centres, sizes) = vectors.centroids(labels, clusters: k)
        guard !sizes.contains(0) else { return nil }
        return (labels, labels.indices.reduce(0) { $0 + vectors.distance($1, centres[labels[$1]]) })
    }

    /// The windows re-assigned to `k` centroids: k-means from the clustering's partition and
    /// from ``restarts`` farthest-point seedings, keeping the partition of least within-cluster
    /// scatter. Deterministic; keeps `labels` if every run loses a cluster.
    static func reassign(_ vectors: Vectors, labels: [Int], clusters k: Int) -> [Int] {
        guard k > 1 else { return labels }
        let n = vectors.count
        var best = lloyd(vectors, labels: labels, clusters: k) ?? (labels, .infinity)
        let d = vectors.dimensions
        let row = { (i: Int) in vectors.values[(i * d)..<(i * d + d)].map(Double.init) }
        for start in 0..<restarts {
            var seeds = [row(start * n / restarts)]
            var nearest = (0..<n).map { vectors.distance($0, seeds[0]) }
            while seeds.count < k {
                let far = nearest.indices.max { nearest[$0] < nearest[$1] }!
                seeds.append(row(far))
                for i in 0..<n { nearest[i] = min(nearest[i], vectors.distance(i, seeds[seeds.count - 1])) }
            }
            let initial = (0..<n).map { i in (0..<k).min { vectors.distance(i, seeds[$0]) < vectors.distance(i, seeds[$1]) }! }
            if let run = lloyd(vectors, labels: initial, clusters: k), run.cost < best.cost { best = run }
        }
        return best.labels
    }

    /// Resegmentation: a Viterbi pass over the windows in time order (`region[i]` is the speech
    /// region of window `i`) against the centroids of `labels`, repeated while it changes
    /// something, at most `passes` times. A pass that would leave a cluster without windows is
    /// not taken.
    static func resegment(_ vectors: Vectors, labels start: [Int], region: [Int], passes: Int = 3) -> [Int] {
        let n = vectors.count
        let k = (start.max() ?? -1) + 1
        // Back pointers are one byte each: more than 255 speakers are not resegmented.
        guard k > 1, k <= 255, n > 1 else { return start }
        var labels = start
        for _ in 0..<passes {
            let (centres, _) = vectors.centroids(labels, clusters: k)
            var cost = (0..<k).map { vectors.distance(0, centres[$0]) / 2 }
            var back = [UInt8](repeating: 0, count: n * k)
            for i in 1..<n {
                let penalty = region[i] == region[i - 1] ? switchPenalty : 0
                let stay = cost
                let leader = (0..<k).min { stay[$0] < stay[$1] }!
                for c in 0..<k {
                    let (from, value) = stay[c] <= stay[leader] + penalty ? (c, stay[c]) : (leader, stay[leader] + penalty)
                    back[i * k + c] = UInt8(from)
                    cost[c] = value + vectors.distance(i, centres[c]) / 2
                }
            }
            var path = [Int](repeating: 0, count: n)
            path[n - 1] = (0..<k).min { cost[$0] < cost[$1] }!
            for i in stride(from: n - 1, to: 0, by: -1) { path[i - 1] = Int(back[i * k + path[i]]) }
            guard Set(path).count == k, path != labels else { break }
            labels = path
        }
        return labels
    }

    /// Labels renumbered 0..<k in order of first appearance.
    static func renumbered(_ labels: [Int]) -> [Int] {
        var map: [Int: Int] = [:]
        return labels.map { label in
            if let m = map[label] { return m }
            map[label] = map.count
            return map.count - 1
        }
    }
}
