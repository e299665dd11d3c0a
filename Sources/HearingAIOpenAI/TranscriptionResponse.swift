import Foundation
public import HearingAI

/// A `verbose_json` (or plain `json`) transcription response, turned into words.
public struct TranscriptionResponse: Decodable, Sendable {
    /// The whole text.
    public var text: String?
    /// Segments with their times, when the server sent them.
    public var segments: [Segment]?
    /// Words with their times, when the server sent them.
    public var words: [TimedWord]?
    /// The language the server heard or was told: OpenAI writes its name ("english"), other
    /// servers its code ("en").
    public var language: String?

    /// A segment: a stretch of text with its times.
    public struct Segment: Decodable, Sendable {
        /// Seconds from the start of the upload.
        public var start: Double
        /// Seconds from the start of the upload.
        public var end: Double
        /// The segment's text (Whisper starts it with a space).
        public var text: String
        /// The mean log probability of the segment's tokens, when given.
        public var avgLogprob: Double?
        /// The text's gzip compression ratio, as Whisper servers report it: above 2.4 the
        /// decoding looped.
        public var compressionRatio: Double?

        /// A segment.
        public init(start: Double, end: Double, text: String, avgLogprob: Double? = nil, compressionRatio: Double? = nil) {
            self.start = start
            self.end = end
            self.text = text
            self.avgLogprob = avgLogprob
            self.compressionRatio = compressionRatio
        }

        enum CodingKeys: String, CodingKey {
            case start, end, text
            case avgLogprob = "avg_logprob"
            case compressionRatio = "compression_ratio"
        }
    }

    /// A word with its times.
    public struct TimedWord: Decodable, Sendable {
        /// The word as the server spelled it, perhaps with a leading space and punctuation.
        public var word: String
        /// Seconds from the start of the upload.
        public var start: Double
        /// Seconds from the start of the upload.
        public var end: Double
        /// Its probability, from servers that give one.
        public var probability: Double?
    }

    /// Parses `body`; a body that is not the protocol's JSON is an error naming `chunk`.
    public static func parse(_ body: some Collection<UInt8>, chunk: Chunk, url: String) throws -> TranscriptionResponse {
        let response: TranscriptionResponse
        do {
            response = try JSONDecoder().decode(TranscriptionResponse.self, from: Data(body))
        } catch {
            throw HearingAIError(
                .engineFailed,
                reason: "\(chunk.label): malformed response from \(url): \(Self.describe(error)); body starts: \(Self.preview(body))")
        }
        guard response.text != nil || response.segments != nil || response.words != nil else {
            throw HearingAIError(
                .engineFailed,
                reason: "\(chunk.label): malformed response from \(url): no text, segments or words; body starts: \(Self.preview(body))")
        }
        return response
    }

    /// Words with times from the start of the uploaded chunk.
    ///
    /// Word times are used when the server sent them. Otherwise each segment's words are
    /// spread over the segment in proportion to their length, and with no segments the text is
    /// spread over the chunk; such words are marked ``Word/timeEstimated``.
    public func chunkWords(chunkSeconds: Double) -> [Word] {
        if let words, !words.isEmpty || (segments ?? []).allSatisfy({ Self.split($0.text).isEmpty }) {
            return words.compactMap { timed in
                let text = timed.word.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !text.isEmpty else { return nil }
                let start = max(0, timed.start)
                return Word(
                    text: text, start: start, end: max(start, timed.end), confidence: timed.probability.map { min(1, max(0, $0)) } ?? 1)
            }
        }
        if let segments {
            return segments.flatMap { segment in
                Self.spread(
                    Self.split(segment.text), from: segment.start, to: segment.end,
                    confidence: segment.avgLogprob.map { min(1, max(0, exp($0))) } ?? 1)
            }
        }
        return Self.spread(Self.split(text ?? ""), from: 0, to: chunkSeconds, confidence: 1)
    }

    private static func split(_ text: String) -> [String] {
        text.split(whereSeparator: \.isWhitespace).map(String.init)
    }

    /// `tokens` over `start...end`, each given time in proportion to its length.
    private static func spread(_ tokens: [String], from start: Double, to end: Double, confidence: Double) -> [Word] {
        let total = tokens.reduce(0) { $0 + $1.count }
        guard total > 0 else { return [] }
        let span = max(0, end - start)
        var position = 0
        return tokens.map { token in
            let wordStart = start + span * Double(position) / Double(total)
            position += token.count
            let wordEnd = start + span * Double(position) / Double(total)
            return Word(text: token, start: wordStart, end: wordEnd, confidence: confidence, timeEstimated: true)
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            return "not JSON (\(context.debugDescription))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "unexpected \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        case DecodingError.keyNotFound(let key, let context):
            let path = (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
            return "missing \(path)"
        default:
            return "\(error)"
        }
    }

    static func preview(_ body: some Collection<UInt8>) -> String {
        let text = String(decoding: body.prefix(120), as: UTF8.self)
        return "\"" + text.split(whereSeparator: \.isNewline).joined(separator: " ") + (body.count > 120 ? "…" : "") + "\""
    }
}

extension Chunk {
    /// "chunk 3 (60.0–90.0 s)": the chunk's number and its owned time in the stream.
    var label: String {
        let owned = ownedSeconds
        return "chunk \(index) (\(String(format: "%.1f", owned.lowerBound))–\(String(format: "%.1f", owned.upperBound)) s)"
    }
}
