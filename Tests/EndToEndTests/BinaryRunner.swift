import Foundation

/// Runs the built `hearingai` binary the way a user or a script would.
struct BinaryRunner {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `$HEARINGAI_BINARY`, or the debug build in `.build/`.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["HEARINGAI_BINARY"] { return path }
        return packageRoot.appendingPathComponent(".build/debug/hearingai").path
    }()

    static func fixture(_ relative: String) -> String {
        let root = ProcessInfo.processInfo.environment["HEARINGAI_FIXTURES"].map { URL(fileURLWithPath: $0) }
            ?? packageRoot.appendingPathComponent("fixtures")
        return root.appendingPathComponent(relative).path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the binary with `arguments` and waits for it.
    static func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a full pipe cannot stall the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hearingai-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
