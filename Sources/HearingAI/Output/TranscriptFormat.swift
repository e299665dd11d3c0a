import Foundation

/// An output format for transcripts.
public struct TranscriptFormat: RawRepresentable, Hashable, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// The format's name, which is also its file extension.
    public let rawValue: String

    /// Accepts the names in ``allCases`` (case-insensitive).
    public init?(rawValue: String) {
        let lowered = rawValue.lowercased()
        guard Self.allCases.contains(where: { $0.rawValue == lowered }) else { return nil }
        self.rawValue = lowered
    }

    private init(_ name: String) { rawValue = name }

    /// Plain text in readable paragraphs (`Speaker 1: ...` when speakers are known).
    public static let txt = TranscriptFormat("txt")
    /// JSON: a `segments` array and a `metadata` object.
    public static let json = TranscriptFormat("json")
    /// SubRip subtitles.
    public static let srt = TranscriptFormat("srt")
    /// WebVTT subtitles, with voice tags when speakers are known.
    public static let vtt = TranscriptFormat("vtt")
    /// Markdown with timestamps and speaker names.
    public static let md = TranscriptFormat("md")

    public static let allCases: [TranscriptFormat] = [.txt, .json, .srt, .vtt, .md]

    /// The file extension, without a dot.
    public var fileExtension: String { rawValue }

    public var description: String { rawValue }

    /// Parses `txt,json` lists and repeated values; throws on an unknown name.
    public static func parseList(_ values: [String]) throws -> [TranscriptFormat] {
        var formats: [TranscriptFormat] = []
        for name in values.flatMap({ $0.split(separator: ",") }).map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let format = TranscriptFormat(rawValue: name) else {
                throw HearingAIError(
                    .invalidOptions, reason: "unknown format '\(name)' (choose from \(allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if !formats.contains(format) { formats.append(format) }
        }
        return formats
    }
}
