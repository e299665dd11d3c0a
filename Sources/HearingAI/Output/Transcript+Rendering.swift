public import Foundation

extension Transcript {
    /// The transcript rendered in `format`; SRT and WebVTT cues are laid out by `subtitles`.
    public func rendered(as format: TranscriptFormat, subtitles: SubtitleStyle = .broadcast) throws -> String {
        switch format {
        case .json: return try renderJSON()
        case .srt: return renderSRT(subtitles)
        case .vtt: return renderVTT(subtitles)
        case .md: return renderMarkdown()
        default: return renderText()
        }
    }

    /// Writes the transcript in `format` to `url` atomically: a temporary file in the same
    /// directory, flushed, then renamed. A failure leaves no file at `url`.
    public func save(to url: URL, format: TranscriptFormat, subtitles: SubtitleStyle = .broadcast) throws {
        let text = try rendered(as: format, subtitles: subtitles)
        try AtomicFile.write(Data(text.utf8), to: url)
    }

    /// Paragraphs of text: a new paragraph at a change of speaker or a pause over two seconds.
    func renderText() -> String {
        var out = ""
        for paragraph in paragraphs() {
            let body = paragraph.map(\.text).joined(separator: " ")
            if let speaker = paragraph.first?.speaker {
                out += "\(speaker): \(body)\n\n"
            } else {
                out += "\(body)\n\n"
            }
        }
        return out.isEmpty ? "" : String(out.dropLast())
    }

    func renderJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// Numbered cues; the speaker's name starts a cue whose speaker differs from the last.
    func renderSRT(_ style: SubtitleStyle) -> String {
        var out = ""
        for (number, cue) in style.cues(for: segments, speakerLabels: true).enumerated() {
            out += "\(number + 1)\n\(Self.timestamp(cue.start, separator: ",")) --> \(Self.timestamp(cue.end, separator: ","))\n"
            out += cue.lines.joined(separator: "\n") + "\n\n"
        }
        return out
    }

    /// Cues with the speaker as a voice tag, `<v Speaker 1>`, on every cue that has one.
    func renderVTT(_ style: SubtitleStyle) -> String {
        var out = "WEBVTT\n\n"
        for cue in style.cues(for: segments) {
            let text = cue.lines.joined(separator: "\n")
            out += "\(Self.timestamp(cue.start, separator: ".")) --> \(Self.timestamp(cue.end, separator: "."))\n"
            out += (cue.speaker.map { "<v \($0)>" } ?? "") + text + "\n\n"
        }
        return out
    }

    func renderMarkdown() -> String {
        let name = URL(fileURLWithPath: metadata.source).lastPathComponent
        var out = "# Transcript of \(name)\n\n"
        out += "- Duration: \(Self.clock(metadata.duration))\n"
        out += "- Engine: \(metadata.engine)\n"
        out += "- Chunks: \(metadata.chunking.chunks) of \(Self.number(metadata.chunking.chunkSize)) s\n\n"
        for paragraph in paragraphs() {
            let stamp = "**[\(Self.clock(paragraph.first?.start ?? 0))]**"
            let body = paragraph.map(\.text).joined(separator: " ")
            if let speaker = paragraph.first?.speaker {
                out += "\(stamp) **\(speaker):** \(body)\n\n"
            } else {
                out += "\(stamp) \(body)\n\n"
            }
        }
        return out
    }

    /// Segments grouped into paragraphs.
    private func paragraphs() -> [[Segment]] {
        var result: [[Segment]] = []
        for segment in segments {
            if let last = result.last?.last, last.speaker == segment.speaker, segment.start - last.end <= 2 {
                result[result.count - 1].append(segment)
            } else {
                result.append([segment])
            }
        }
        return result
    }

    /// `HH:MM:SS,mmm` (SRT) or `HH:MM:SS.mmm` (VTT).
    static func timestamp(_ seconds: Double, separator: String) -> String {
        ClockFormat.milliseconds(separator: separator).string(max(0, seconds))
    }

    /// `H:MM:SS` for reading.
    static func clock(_ seconds: Double) -> String {
        ClockFormat.hours.string(max(0, seconds), rounding: .down)
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
