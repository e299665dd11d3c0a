import Foundation
import Testing

@testable import HearingAI

/// HMAC-SHA256 against RFC 4231's test cases (section 4), and against Python's `hmac`.
@Suite("HMAC-SHA256")
struct HMACSHA256Tests {
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    @Test(
        "RFC 4231 test cases 1-4, 6 and 7",
        arguments: [
            (
                String(repeating: "0b", count: 20), Array("Hi There".utf8),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                "4a656665", Array("what do ya want for nothing?".utf8),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                String(repeating: "aa", count: 20), [UInt8](repeating: 0xdd, count: 50),
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
            ),
            (
                "0102030405060708090a0b0c0d0e0f10111213141516171819", [UInt8](repeating: 0xcd, count: 50),
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
            ),
            // A key longer than a block is hashed first.
            (
                String(repeating: "aa", count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
            (
                String(repeating: "aa", count: 131),
                Array(
                    "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                        .utf8),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            ),
        ])
    func rfc4231(key: String, message: [UInt8], expected: String) {
        #expect(HMACSHA256.hex(of: message, key: Self.bytes(key)) == expected)
    }

    @Test("RFC 4231 test case 5: truncated to 128 bits")
    func truncated() {
        var mac = HMACSHA256(key: [UInt8](repeating: 0x0c, count: 20))
        mac.update(Array("Test With Truncation".utf8))
        #expect(Array(mac.finalize().prefix(16)) == Self.bytes("a3b6167473100ee06e0c796c2955552b"))
    }

    @Test("Fed in pieces, the same code as in one piece")
    func streaming() {
        let message = Array("{\"event\":\"job.completed\",\"job_id\":1}".utf8)
        var mac = HMACSHA256(key: Array("secret".utf8))
        mac.update(message.prefix(7))
        mac.update(message.dropFirst(7))
        let hex = mac.finalize().map { String(format: "%02x", $0) }.joined()
        #expect(hex == HMACSHA256.hex(of: message, key: Array("secret".utf8)))
    }
}
