import ArgumentParser
import Foundation

/// A failure reported as one line on stderr, with exit status 1.
struct CLIFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }

    /// Prints `hearingai: MESSAGE` and returns the exit code to throw.
    static func report(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("hearingai: \(message)\n".utf8))
        return ExitCode.failure
    }
}
