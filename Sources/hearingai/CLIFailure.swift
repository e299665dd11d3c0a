import ArgumentParser
import Foundation

/// A failure reported as one line on stderr, with exit status 1.
struct CLIFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }

    /// Prints `hearingai: MESSAGE` and returns the exit code to throw.
    static func report(_ message: String) -> ExitCode {
        // One line, whatever the message: a parser's multi-line diagnostic included.
        let line = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        FileHandle.standardError.write(Data("hearingai: \(line)\n".utf8))
        return ExitCode.failure
    }
}
