/// HMAC-SHA256 (RFC 2104) on the project's own ``SHA256``: signs webhook bodies, so that a
/// receiver can check that a request came from this service and was not altered.
///
/// Built here rather than taken from swift-crypto, which would compile another BoringSSL for a
/// dozen lines; it is tested against RFC 4231's vectors.
public struct HMACSHA256: Sendable {
    /// SHA-256's block size in bytes.
    static let blockSize = 64

    private var inner: SHA256
    private let outerKey: [UInt8]

    /// A MAC keyed with `key` (hashed first when longer than a block, as RFC 2104 says).
    public init<Key: Sequence>(key: Key) where Key.Element == UInt8 {
        var block = Array(key)
        if block.count > Self.blockSize {
            var hash = SHA256()
            hash.update(block)
            block = hash.finalize()
        }
        block += [UInt8](repeating: 0, count: Self.blockSize - block.count)
        inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        outerKey = block.map { $0 ^ 0x5c }
    }

    /// Adds `bytes` to the message.
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        inner.update(bytes)
    }

    /// The 32-byte authentication code.
    public mutating func finalize() -> [UInt8] {
        var outer = SHA256()
        outer.update(outerKey)
        outer.update(inner.finalize())
        return outer.finalize()
    }

    /// The authentication code of `message` under `key`, as lowercase hex.
    public static func hex<Key: Sequence, Message: Sequence>(of message: Message, key: Key) -> String
    where Key.Element == UInt8, Message.Element == UInt8 {
        var mac = HMACSHA256(key: key)
        mac.update(message)
        return mac.finalize().map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
        }.joined()
    }
}
