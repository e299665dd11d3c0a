import Foundation

/// A file name as the kernel stores it: bytes, not necessarily UTF-8, never containing `/` or
/// NUL. Names with spaces, newlines or invalid UTF-8 pass through byte for byte.
public struct FileName: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The name's bytes.
    public var bytes: [UInt8]

    /// A name from raw bytes.
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// A name from a Swift string (UTF-8).
    public init(_ string: String) { self.bytes = Array(string.utf8) }

    /// For logs and messages: invalid UTF-8 replaced, control characters escaped.
    public var description: String {
        var out = ""
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            if scalar.properties.generalCategory == .control {
                out += scalar.escaped(asASCII: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Whether the name starts with a dot.
    public var isHidden: Bool { bytes.first == UInt8(ascii: ".") }

    /// The part before the last dot (the whole name if there is none, or only a leading one).
    public var stem: FileName {
        guard let dot = bytes.lastIndex(of: UInt8(ascii: ".")), dot > 0 else { return self }
        return FileName(bytes: Array(bytes[..<dot]))
    }

    /// The name with `suffix` appended, such as `.txt`.
    public func appending(_ suffix: String) -> FileName {
        FileName(bytes: bytes + Array(suffix.utf8))
    }

    /// Whether the name ends with `suffix`, ignoring ASCII case.
    public func hasSuffix(_ suffix: String) -> Bool {
        let tail = Array(suffix.utf8)
        guard bytes.count >= tail.count else { return false }
        return zip(bytes.suffix(tail.count), tail).allSatisfy { Self.lower($0) == Self.lower($1) }
    }

    /// The longest name a Linux filesystem takes, in bytes (NAME_MAX).
    public static let maximumLength = 255

    /// The name cut to at most `length` bytes, without splitting a UTF-8 sequence.
    public func truncated(to length: Int) -> FileName {
        guard bytes.count > length else { return self }
        var cut = Array(bytes.prefix(max(0, length)))
        // Find the start of the last sequence; drop it if the cut left it incomplete.
        var index = cut.count - 1
        while index >= 0, cut.count - index <= 4, cut[index] & 0xC0 == 0x80 { index -= 1 }
        if index >= 0, (0xC0...0xF7).contains(cut[index]) {
            let lead = cut[index]
            let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
            if cut.count - index < length { cut.removeSubrange(index...) }
        }
        return FileName(bytes: cut)
    }

    /// A NUL-terminated copy for system calls.
    func withCString<T>(_ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        try (bytes.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// The name as a path under `directory`, for APIs that take paths. Byte-exact: the
    /// path is built from bytes and decoded by the kernel, not by Swift.
    func path(in directory: String) -> [CChar] {
        Array(directory.utf8CString.dropLast()) + [CChar(bitPattern: UInt8(ascii: "/"))] + bytes.map { CChar(bitPattern: $0) } + [0]
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }
}
