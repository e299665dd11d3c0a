import Foundation
import HearingAI

/// Writes a run's memory samples as TSV: seconds, resident MB, CPU %, limit MB.
struct MemoryTraceWriter: Sendable {
    let path: String

    func write(_ samples: [ResourceSupervisor.Sample], limit: MemoryLimit?) {
        var text = "seconds\trss_mb\tcpu_percent\tlimit_mb\n"
        let limitMB = limit.map { String($0.megabytes) } ?? ""
        for sample in samples {
            text +=
                String(format: "%.3f\t%.1f\t%.0f\t", sample.time, Double(sample.residentBytes) / 1_048_576, sample.cpuPercent) + limitMB
                + "\n"
        }
        try? AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: path))
    }
}
