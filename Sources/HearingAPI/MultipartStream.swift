import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A streaming `multipart/form-data` parser: bytes go in as they arrive, parts come out as a
/// start (with the part's headers), body bytes, and an end.
///
/// Body bytes are found by searching for the delimiter (`CRLF--boundary`) with `memchr`, so an
/// upload of gigabytes costs a copy and a scan, not work per byte; at most the delimiter's
/// length is held back between calls (it may be split across them), plus a part's headers
/// (at most ``maxHeaderBytes``).
struct MultipartStream {
    /// What the parser found.
    enum Event {
        /// A part begins; its headers by lower-cased name.
        case partStart([String: String])
        /// Bytes of the current part's body.
        case body(ArraySlice<UInt8>)
        /// The current part ended (its delimiter was seen).
        case partEnd
    }

    /// The body is not `multipart/form-data` as its boundary says.
    struct SyntaxError: Error, CustomStringConvertible {
        var description: String
    }

    /// The largest header section of a part.
    static let maxHeaderBytes = 16 * 1024

    private enum State {
        case preamble, afterDelimiter, headers, body, epilogue
    }

    private let delimiter: [UInt8]
    private var state = State.preamble
    /// Bytes received and not yet consumed. It starts with CRLF so that a body beginning with
    /// `--boundary` (no preamble) matches the delimiter like every later one.
    private var buffer: [UInt8] = Array("\r\n".utf8)
    private var inPart = false

    /// A parser for parts separated by `boundary`.
    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
    }

    /// Whether the closing delimiter (`--boundary--`) was seen.
    var isFinished: Bool {
        if case .epilogue = state { return true }
        return false
    }

    /// Parses `bytes`, calling `handle` for what they complete. Throws ``SyntaxError``.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ handle: (Event) throws -> Void) throws {
        if case .epilogue = state { return }
        buffer.append(contentsOf: bytes.bindMemory(to: UInt8.self))
        var start = 0
        defer { buffer.removeFirst(start) }
        while start < buffer.count {
            switch state {
            case .preamble:
                guard let found = find(delimiter, from: start) else {
                    start = max(start, buffer.count - (delimiter.count - 1))
                    return
                }
                start = found + delimiter.count
                state = .afterDelimiter
            case .afterDelimiter:
                // `--` closes the body; otherwise optional white space, then CRLF.
                var index = start
                while index < buffer.count, buffer[index] == UInt8(ascii: " ") || buffer[index] == UInt8(ascii: "\t") { index += 1 }
                guard index + 2 <= buffer.count else { return }
                if buffer[index] == UInt8(ascii: "-"), buffer[index + 1] == UInt8(ascii: "-") {
                    state = .epilogue
                    start = buffer.count
                    return
                }
                guard buffer[index] == UInt8(ascii: "\r"), buffer[index + 1] == UInt8(ascii: "\n") else {
                    throw SyntaxError(description: "a boundary is not followed by CRLF or --")
                }
                start = index + 2
                state = .headers
            case .headers:
                let end: Int
                let headerBytes: ArraySlice<UInt8>
                if buffer.count - start >= 2, buffer[start] == UInt8(ascii: "\r"), buffer[start + 1] == UInt8(ascii: "\n") {
                    headerBytes = []
                    end = start + 2
                } else if let found = find(Array("\r\n\r\n".utf8), from: start) {
                    headerBytes = buffer[start..<found]
                    end = found + 4
                } else {
                    guard buffer.count - start <= Self.maxHeaderBytes else {
                        throw SyntaxError(description: "a part's headers are longer than \(Self.maxHeaderBytes / 1024) KB")
                    }
                    return
                }
                try handle(.partStart(try Self.headers(headerBytes)))
                inPart = true
                start = end
                state = .body
            case .body:
                if let found = find(delimiter, from: start) {
                    if found > start { try handle(.body(buffer[start..<found])) }
                    try handle(.partEnd)
                    inPart = false
                    start = found + delimiter.count
                    state = .afterDelimiter
                } else {
                    // Keep what could be the start of a delimiter split across calls.
                    let safe = buffer.count - (delimiter.count - 1)
                    if safe > start {
                        try handle(.body(buffer[start..<safe]))
                        start = safe
                    }
                    return
                }
            case .epilogue:
                start = buffer.count
            }
        }
    }

    /// The first occurrence of `needle` in the buffer at or after `from`: `memchr` for its first
    /// byte, `memcmp` for the rest.
    private func find(_ needle: [UInt8], from: Int) -> Int? {
        guard buffer.count - from >= needle.count else { return nil }
        return buffer.withUnsafeBytes { haystack in
            needle.withUnsafeBytes { needle in
                let base = haystack.baseAddress!
                let last = haystack.count - needle.count
                var index = from
                while index <= last {
                    guard let hit = memchr(base + index, Int32(needle[0]), last - index + 1) else { return nil }
                    index = UnsafeRawPointer(hit) - base
                    if memcmp(base + index, needle.baseAddress!, needle.count) == 0 { return index }
                    index += 1
                }
                return nil
            }
        }
    }

    /// `Name: value` lines, names lower-cased.
    private static func headers(_ bytes: ArraySlice<UInt8>) throws -> [String: String] {
        var headers: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { throw SyntaxError(description: "a part header has no colon") }
            headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = String(
                line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return headers
    }
}
