import ArgumentParser
import Foundation
import HearingAI

/// A failure of the command line itself (a missing run ID, an output directory that cannot be
/// made), reported like any other error.
struct CLIFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }

    /// Runs `body`, turning any error it throws into `hearingai: MESSAGE` on stderr and exit
    /// status 1: the pipeline's and the service's ``HearingAIError``s, this type, and anything
    /// else (described on one line). Argument errors never get here: the parser reports them
    /// and exits 64.
    static func reporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ExitCode {
            throw error
        } catch {
            throw report(error)
        }
    }

    /// Prints `error` as `hearingai: MESSAGE` and returns the exit code to throw.
    static func report(_ error: any Error) -> ExitCode {
        if let error = error as? CLIFailure { return report(error.description) }
        return report(HearingAIError(error).description)
    }

    /// Prints `hearingai: MESSAGE` and returns the exit code to throw.
    static func report(_ message: String) -> ExitCode {
        // One line, whatever the message: a parser's multi-line diagnostic included.
        let line = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        FileHandle.standardError.write(Data("hearingai: \(line)\n".utf8))
        return ExitCode.failure
    }
}
