import Foundation
import TestSupport
import Testing

@testable import HearingAI

@Suite("SHA-256")
struct SHA256Tests {
    static func hex(_ bytes: [UInt8]) -> String {
        var sha = SHA256()
        sha.update(bytes)
        return sha.finalizeHex()
    }

    @Test("The standard's test vectors")
    func vectors() {
        #expect(Self.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            Self.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            Self.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("Streaming in uneven pieces gives the same digest as sha256sum")
    func streamingMatchesCoreutils() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<200_003).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let file = dir.appendingPathComponent("data")
        try Data(bytes).write(to: file)
        var sha = SHA256()
        var offset = 0
        for size in [1, 63, 64, 65, 1000, 4096] where offset < bytes.count {
            let end = min(bytes.count, offset + size)
            sha.update(bytes[offset..<end])
            offset = end
        }
        sha.update(bytes[offset...])
        let expected = try runProcess("/usr/bin/env", ["sha256sum", file.path]).stdout.split(separator: " ").first.map(String.init)
        #expect(sha.finalizeHex() == expected)
    }
}
