import Foundation
import TestSupport

/// Runs the built `hearingai` binary the way a user or a script would.
enum BinaryRunner {
    /// `$HEARINGAI_BINARY`, or the build in `.build/` of the configuration the tests were
    /// built in (`make test` builds release; `swift test` alone, debug).
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["HEARINGAI_BINARY"] { return path }
        #if DEBUG
        let configuration = "debug"
        #else
        let configuration = "release"
        #endif
        return TestPaths.packageRoot.appendingPathComponent(".build/\(configuration)/hearingai").path
    }()

    /// Runs the binary with `arguments`, this process's environment plus `environment`, and waits
    /// for it.
    static func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) throws -> ProcessResult {
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        return try runProcess(binary, arguments, environment: merged, in: directory)
    }
}
