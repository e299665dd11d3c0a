public import Foundation
import Synchronization

/// What a finished child process left: its exit status and everything it wrote.
public struct ProcessResult: Sendable {
    /// The exit status (or the signal number, if a signal ended it).
    public var status: Int32
    /// Standard output, decoded as UTF-8 (invalid bytes replaced).
    public var stdout: String
    /// Standard error, decoded as UTF-8 (invalid bytes replaced).
    public var stderr: String
}

/// Runs `executable` with `arguments` (no shell) and waits for it.
///
/// - Parameters:
///   - environment: the child's whole environment; nil inherits this process's.
///   - directory: the child's working directory; nil keeps this process's.
///   - input: a file the child reads as standard input; nil lets it inherit this process's.
///
/// Both pipes are read to their end before waiting, standard error on a thread of its own, so a
/// child that fills either pipe cannot stall.
public func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    in directory: URL? = nil, input: URL? = nil
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = directory }
    let inputHandle = try input.map { try FileHandle(forReadingFrom: $0) }
    defer { try? inputHandle?.close() }
    if let inputHandle { process.standardInput = inputHandle }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let errReader = PipeReader(err.fileHandleForReading)
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = errReader.wait()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// Reads a pipe to its end on a thread of its own.
private final class PipeReader: Sendable {
    private let data = Mutex(Data())
    private let finished = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread { [self] in
            let read = handle.readDataToEndOfFile()
            data.withLock { $0 = read }
            finished.signal()
        }.start()
    }

    /// Everything read, once the writer has closed the pipe.
    func wait() -> Data {
        finished.wait()
        return data.withLock { $0 }
    }
}
