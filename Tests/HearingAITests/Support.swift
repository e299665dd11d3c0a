import Foundation
import TestSupport

@testable import HearingAI

/// The generated test audio (``TestPaths/fixtures``), checked to exist.
enum Fixtures {
    static func path(_ relative: String) -> String {
        let url = TestPaths.fixtures.appendingPathComponent(relative)
        precondition(
            FileManager.default.fileExists(atPath: url.path),
            "missing fixture \(url.path): run scripts/make-fixtures.sh fixtures")
        return url.path
    }

    static func text(_ relative: String) throws -> String {
        try String(contentsOfFile: path(relative), encoding: .utf8)
    }
}

/// Writes 16-bit mono PCM WAV at `rate` from `samples`.
func writeWAV(_ samples: [Int16], rate: Int = 16_000, to url: URL) throws {
    var data = Data()
    func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    data.append(contentsOf: Array("RIFF".utf8))
    u32(UInt32(36 + samples.count * 2))
    data.append(contentsOf: Array("WAVEfmt ".utf8))
    u32(16)
    u16(1)
    u16(1)
    u32(UInt32(rate))
    u32(UInt32(rate * 2))
    u16(2)
    u16(16)
    data.append(contentsOf: Array("data".utf8))
    u32(UInt32(samples.count * 2))
    for s in samples { u16(UInt16(bitPattern: s)) }
    try data.write(to: url)
}
