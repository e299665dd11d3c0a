import Foundation

/// A strict reader of Prometheus's text exposition format (version 0.0.4), enough to check
/// that `/metrics` parses as Prometheus would parse it: `# TYPE` before a family's samples,
/// metric and label names of the allowed characters, quoted and escaped label values, numeric
/// values (`+Inf`, `-Inf`, `NaN` included), and histograms whose buckets carry `le`, grow
/// with it, and end in `+Inf` equal to `_count`.
struct PrometheusText {
    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Family name → type (`counter`, `gauge`, `histogram`, `summary`, `untyped`).
    private(set) var types: [String: String] = [:]
    private(set) var samples: [Sample] = []

    init(_ text: String) throws {
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let line = String(line)
            func fail(_ why: String) -> ParseError { ParseError(description: "line \(number + 1): \(why): \(line)") }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
                if parts.count >= 2, parts[1] == "TYPE" {
                    guard parts.count == 4, Self.isMetricName(parts[2]),
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3])
                    else { throw fail("bad TYPE line") }
                    guard types[parts[2]] == nil else { throw fail("second TYPE for a family") }
                    types[parts[2]] = parts[3]
                }
                continue
            }
            var rest = Substring(line)
            let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
            guard Self.isMetricName(name) else { throw fail("bad metric name") }
            rest = rest.dropFirst(name.count)
            var labels: [String: String] = [:]
            if rest.first == "{" {
                rest = rest.dropFirst()
                while rest.first != "}" {
                    let key = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                    guard !key.isEmpty, !(key.first!.isNumber) else { throw fail("bad label name") }
                    rest = rest.dropFirst(key.count)
                    guard rest.hasPrefix("=\"") else { throw fail("label without =\"") }
                    rest = rest.dropFirst(2)
                    var value = ""
                    while let c = rest.first, c != "\"" {
                        rest = rest.dropFirst()
                        if c == "\\" {
                            guard let escaped = rest.first else { throw fail("dangling escape") }
                            rest = rest.dropFirst()
                            switch escaped {
                            case "n": value.append("\n")
                            case "\\": value.append("\\")
                            case "\"": value.append("\"")
                            default: throw fail("bad escape")
                            }
                        } else {
                            value.append(c)
                        }
                    }
                    guard rest.first == "\"" else { throw fail("unterminated label value") }
                    rest = rest.dropFirst()
                    guard labels.updateValue(value, forKey: key) == nil else { throw fail("repeated label") }
                    if rest.first == "," { rest = rest.dropFirst() } else if rest.first != "}" { throw fail("expected , or }") }
                }
                rest = rest.dropFirst()
            }
            let fields = rest.split(separator: " ")
            guard (1...2).contains(fields.count), rest.first == " " else { throw fail("expected a value (and timestamp)") }
            guard let value = Self.number(String(fields[0])) else { throw fail("bad value") }
            if fields.count == 2, Int64(fields[1]) == nil { throw fail("bad timestamp") }
            guard let family = family(of: name) else { throw fail("sample before its # TYPE") }
            if types[family] == "histogram", name == family + "_bucket", labels["le"].flatMap(Self.number) == nil {
                throw fail("bucket without a numeric le")
            }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
        try checkHistograms()
    }

    /// The value of the sample `name` with exactly `labels`, if present.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    private func family(of name: String) -> String? {
        if types[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if types[base] == "histogram" || types[base] == "summary" { return base }
        }
        return nil
    }

    private func checkHistograms() throws {
        for (family, type) in types where type == "histogram" {
            var series: [[String: String]: [(Double, Double)]] = [:]
            for sample in samples where sample.name == family + "_bucket" {
                var key = sample.labels
                let le = Self.number(key.removeValue(forKey: "le")!)!
                series[key, default: []].append((le, sample.value))
            }
            for (labels, buckets) in series {
                let sorted = buckets.sorted { $0.0 < $1.0 }
                guard sorted.last?.0 == .infinity else { throw ParseError(description: "\(family)\(labels): no +Inf bucket") }
                for (a, b) in zip(sorted, sorted.dropFirst()) where b.1 < a.1 {
                    throw ParseError(description: "\(family)\(labels): buckets not cumulative")
                }
                guard value(family + "_count", labels) == sorted.last?.1, value(family + "_sum", labels) != nil else {
                    throw ParseError(description: "\(family)\(labels): _count is not the +Inf bucket, or _sum is missing")
                }
            }
        }
    }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.first, first.isLetter || first == "_" || first == ":" else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" || $0 == ":" }
    }

    static func number(_ text: String) -> Double? {
        switch text {
        case "+Inf", "Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: Double(text)
        }
    }
}
