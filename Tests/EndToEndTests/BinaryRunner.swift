import Foundation
import TestSupport

/// Runs the built `hearingai` binary the way a user or a script would.
enum BinaryRunner {
    /// `$HEARINGAI_BINARY`, or the debug build in `.build/`.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["HEARINGAI_BINARY"] { return path }
        return TestPaths.packageRoot.appendingPathComponent(".build/debug/hearingai").path
    }()

    /// Runs the binary with `arguments`, this process's environment plus `environment`, and waits
    /// for it.
    static func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) throws -> ProcessResult {
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        return try runProcess(binary, arguments, environment: merged, in: directory)
    }
}
