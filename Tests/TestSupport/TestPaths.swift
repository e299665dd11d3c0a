public import Foundation

/// Where the tests find the package and its generated audio.
public enum TestPaths {
    /// The repository root, found from this file's path.
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The generated test audio: `$HEARINGAI_FIXTURES`, or `fixtures/` at the package root, made
    /// by `scripts/make-fixtures.sh` (the README's test command runs it first).
    public static let fixtures: URL = {
        if let directory = ProcessInfo.processInfo.environment["HEARINGAI_FIXTURES"] {
            return URL(fileURLWithPath: directory)
        }
        return packageRoot.appendingPathComponent("fixtures")
    }()

    /// The path of `relative` under ``fixtures``, whether or not it exists.
    public static func fixture(_ relative: String) -> String {
        fixtures.appendingPathComponent(relative).path
    }
}

/// A fresh directory under the system's temporary directory, named `PREFIX-UUID`; the caller
/// removes it.
public func temporaryDirectory(prefix: String = "hearingai-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Generated test audio.
public enum GeneratedAudio {
    /// `speech/short.wav` (4.7 s), `gap` seconds of digital silence, and the same speech again,
    /// as a 16 kHz mono WAV named `gap.wav` in `directory`: with 10 s chunks at least one chunk
    /// of a 25 s gap has no speech.
    public static func speechGapSpeech(in directory: URL, gap: Double = 25) throws -> String {
        let speech = directory.appendingPathComponent("speech.wav").path
        let file = directory.appendingPathComponent("gap.wav").path
        for step in [
            [TestPaths.fixture("speech/short.wav"), "-r", "16000", "-c", "1", "-b", "16", speech],
            [speech, speech, file, "pad", "\(gap)@4.6"],
        ] {
            let sox = try runProcess("/usr/bin/sox", step)
            guard sox.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: sox.stderr]) }
        }
        return file
    }
}
