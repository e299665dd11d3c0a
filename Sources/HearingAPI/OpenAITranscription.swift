import Foundation
import HearingAI

/// The response formats of OpenAI's `POST /v1/audio/transcriptions`, made from a transcript.
enum OpenAIResponseFormat: String, CaseIterable {
    case json, text, srt, vtt
    case verboseJSON = "verbose_json"

    /// The body and its content type.
    func render(
        _ transcript: Transcript, language: String, words: Bool, segments: Bool, subtitles: SubtitleStyle
    ) throws -> (String, String) {
        switch self {
        case .json:
            return (try Self.encode(["text": transcript.text]), "application/json")
        case .text:
            return (transcript.text + "\n", "text/plain; charset=utf-8")
        case .srt:
            return (try transcript.rendered(as: .srt, subtitles: subtitles), "application/x-subrip; charset=utf-8")
        case .vtt:
            return (try transcript.rendered(as: .vtt, subtitles: subtitles), "text/vtt; charset=utf-8")
        case .verboseJSON:
            let verbose = Verbose(
                language: language, duration: transcript.metadata.duration, text: transcript.text,
                segments: segments
                    ? transcript.segments.enumerated().map { index, segment in
                        Verbose.Segment(
                            id: index, start: segment.start, end: segment.end, text: segment.text, speaker: segment.speaker,
                            avg_logprob: segment.words.isEmpty
                                ? 0 : segment.words.map { log(max($0.confidence, 1e-6)) }.reduce(0, +) / Double(segment.words.count))
                    } : nil,
                words: words ? transcript.words.map { .init(word: $0.text, start: $0.start, end: $0.end, speaker: $0.speaker) } : nil)
            return (try Self.encode(verbose), "application/json")
        }
    }

    private static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder.api.encode(value), as: UTF8.self)
    }

    /// `verbose_json`: OpenAI's fields, plus each segment's and word's speaker.
    struct Verbose: Encodable {
        struct Segment: Encodable {
            var id: Int
            var seek = 0
            var start: Double
            var end: Double
            var text: String
            var speaker: String?
            var tokens: [Int] = []
            var temperature = 0.0
            var avg_logprob: Double
            var compression_ratio = 1.0
            var no_speech_prob = 0.0
        }
        struct Word: Encodable {
            var word: String
            var start: Double
            var end: Double
            var speaker: String?
        }
        var task = "transcribe"
        var language: String
        var duration: Double
        var text: String
        var segments: [Segment]?
        var words: [Word]?
    }
}
