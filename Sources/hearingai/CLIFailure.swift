import ArgumentParser
import Foundation
import HearingAI
import HearingIngest

/// A failure reported as one line on stderr, with exit status 1.
struct CLIFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }

    /// Runs `body`, turning the service's and the pipeline's one-line errors into
    /// `hearingai: MESSAGE` on stderr and exit status 1.
    static func reporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as IngestError {
            throw report(error.description)
        } catch let error as HearingAIError {
            throw report(error.description)
        } catch let error as CLIFailure {
            throw report(error.description)
        }
    }

    /// Prints `hearingai: MESSAGE` and returns the exit code to throw.
    static func report(_ message: String) -> ExitCode {
        // One line, whatever the message: a parser's multi-line diagnostic included.
        let line = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        FileHandle.standardError.write(Data("hearingai: \(line)\n".utf8))
        return ExitCode.failure
    }
}
