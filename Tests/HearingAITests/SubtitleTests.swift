import Foundation
import TestSupport
import Testing

@testable import HearingAI

/// SRT and WebVTT follow broadcast rules; txt and json keep every word.
@Suite("Subtitles")
struct SubtitleTests {
    /// A cue as a viewer sees it, parsed back from SRT or WebVTT.
    struct ParsedCue {
        var start: Double
        var end: Double
        var voice: String?
        var lines: [String]
    }

    static func parse(_ text: String, vtt: Bool) -> [ParsedCue] {
        var blocks = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        if vtt { blocks.removeFirst() }  // WEBVTT
        return blocks.map { block in
            var lines = block.components(separatedBy: "\n")
            if !vtt { lines.removeFirst() }  // the number
            let times = lines.removeFirst().components(separatedBy: " --> ").map(OutputFormatTests.seconds)
            var voice: String?
            if vtt, lines[0].hasPrefix("<v "), let close = lines[0].firstIndex(of: ">") {
                voice = String(lines[0][lines[0].index(lines[0].startIndex, offsetBy: 3)..<close])
                lines[0] = String(lines[0][lines[0].index(after: close)...])
            }
            return ParsedCue(start: times[0], end: times[1], voice: voice, lines: lines)
        }
    }

    /// Checks every rule of `style` on `transcript`'s SRT and WebVTT; returns the SRT cues.
    @discardableResult
    static func checkRules(_ transcript: Transcript, style: SubtitleStyle = .broadcast, sourceLocation: SourceLocation = #_sourceLocation)
        throws -> [ParsedCue]
    {
        let words = transcript.words
        let srt = parse(try transcript.rendered(as: .srt, subtitles: style), vtt: false)
        let vtt = parse(try transcript.rendered(as: .vtt, subtitles: style), vtt: true)
        #expect(!srt.isEmpty && !vtt.isEmpty, sourceLocation: sourceLocation)

        // Every word once, in order, never split: the cues' words are the transcript's. An SRT
        // cue may start with its speaker's name.
        let labels = Set(words.compactMap(\.speaker).map { "\($0):" })
        let srtWords = srt.flatMap { cue in
            var text = cue.lines.joined(separator: " ")
            if let label = labels.first(where: { text.hasPrefix($0 + " ") }) { text.removeFirst(label.count + 1) }
            return text.split(separator: " ").map(String.init)
        }
        #expect(srtWords == words.map(\.text), sourceLocation: sourceLocation)
        #expect(
            vtt.flatMap { $0.lines.flatMap { $0.split(separator: " ").map(String.init) } } == words.map(\.text),
            sourceLocation: sourceLocation)

        for (index, cue) in srt.enumerated() {
            let next = index + 1 < srt.count ? srt[index + 1] : nil
            let pressed = next.map { cue.end >= $0.start - 0.0005 } ?? false
            let duration = cue.end - cue.start
            let characters = cue.lines.reduce(0) { $0 + $1.count } + cue.lines.count - 1
            let single = cue.lines.count == 1 && !cue.lines[0].contains(" ")
            #expect(cue.lines.count <= style.maxLines, "cue \(index + 1): \(cue.lines)", sourceLocation: sourceLocation)
            for line in cue.lines where line.contains(" ") {
                #expect(
                    line.count <= style.maxLineCharacters, "cue \(index + 1): \(line.count) characters: \(line)",
                    sourceLocation: sourceLocation)
            }
            #expect(duration <= style.maxDuration + 0.0005 || single, "cue \(index + 1): \(duration) s", sourceLocation: sourceLocation)
            // The shortest time and the reading speed hold wherever the next cue leaves room.
            #expect(duration >= style.minDuration - 0.0005 || pressed, "cue \(index + 1): \(duration) s", sourceLocation: sourceLocation)
            #expect(
                Double(characters) / duration <= style.maxCharactersPerSecond + 0.01 || pressed,
                "cue \(index + 1): \(Double(characters) / duration) characters a second", sourceLocation: sourceLocation)
            if let next { #expect(cue.end <= next.start + 0.0005 && cue.start < next.start, sourceLocation: sourceLocation) }
        }
        // One speaker per cue: WebVTT's voice is every word's speaker.
        var wordIndex = 0
        for cue in vtt {
            let count = cue.lines.reduce(0) { $0 + $1.split(separator: " ").count }
            let speakers = Set(words[wordIndex..<wordIndex + count].map { $0.speaker ?? "" })
            #expect(speakers == [cue.voice ?? ""], "\(cue.lines)", sourceLocation: sourceLocation)
            wordIndex += count
        }
        return srt
    }

    /// 536 words of two-voice conversation at a conversational pace (about 14 characters a
    /// second), with commas and full stops as a cased engine writes them, pauses inside
    /// sentences and between turns, and one word longer than a line.
    static let longTranscript: Transcript = {
        let all = ((try? Fixtures.text("speech/long.txt")) ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
        var noise = SpeakerClusteringTests.Noise(state: 7)
        func unit() -> Double { (noise.next() + 1) / 2 }
        var words: [Word] = []
        var time = 0.4
        var speaker = 1
        var rest = all[...]
        var sentenceIndex = 0
        while !rest.isEmpty {
            // Sentences of 6 to 14 words; a turn is three sentences.
            let tokens = Array(rest.prefix(6 + Int(unit() * 9)))
            rest = rest.dropFirst(tokens.count)
            if sentenceIndex % 3 == 0 { speaker = 3 - speaker }
            for (index, token) in tokens.enumerated() {
                var spelled = index == 0 ? token.prefix(1).uppercased() + token.dropFirst() : token
                if index == tokens.count - 1 { spelled += "." } else if index == tokens.count / 2 { spelled += "," }
                if sentenceIndex == 5, index == 2 { spelled = "pneumonoultramicroscopicsilicovolcanoconiosis" }
                let duration = 0.12 + 0.055 * Double(spelled.count)
                words.append(Word(text: spelled, start: time, end: time + duration, confidence: 0.9, speaker: "Speaker \(speaker)"))
                time += duration + (index == tokens.count / 2 ? 0.35 : 0.03 + 0.1 * unit())
            }
            time += sentenceIndex % 3 == 2 ? 1.2 : 0.3 + 0.4 * unit()
            sentenceIndex += 1
        }
        return Transcript(segments: Segmenter().segments(of: words), metadata: OutputFormatTests.transcript.metadata)
    }()

    @Test("Over a long transcript every cue keeps the rules: 2 lines of 42, 1–7 s, 20 characters a second, one speaker, no word split")
    func longTranscriptRules() throws {
        let transcript = Self.longTranscript
        #expect(transcript.words.count >= 500)
        let cues = try Self.checkRules(transcript)
        // Lines break after punctuation where one is in reach: most two-line cues whose
        // first line could end at a comma or full stop do.
        let twoLine = cues.filter { $0.lines.count == 2 }
        #expect(twoLine.count > 20)
        let atPunctuation = twoLine.filter { SubtitleStyle.endsClause(String($0.lines[0].split(separator: " ").last ?? "")) }
        #expect(Double(atPunctuation.count) / Double(twoLine.count) > 0.3, "\(atPunctuation.count) of \(twoLine.count)")
        // The word longer than a line has a line of its own.
        #expect(cues.contains { $0.lines.contains("pneumonoultramicroscopicsilicovolcanoconiosis") })
    }

    @Test("--max-line-chars 30 --max-lines 1 hold too")
    func narrowStyle() throws {
        let style = SubtitleStyle(maxLineCharacters: 30, maxLines: 1)
        let cues = try Self.checkRules(Self.longTranscript, style: style)
        #expect(cues.allSatisfy { $0.lines.count == 1 })
    }

    @Test("A cue stays up long enough to read when the next leaves room, and never runs into it")
    func readingTime() throws {
        let words = [
            Word(text: "Quick", start: 1.0, end: 1.2, confidence: 1),
            Word(text: "words,", start: 1.2, end: 1.4, confidence: 1),
            Word(text: "said", start: 1.4, end: 1.5, confidence: 1),
            Word(text: "fast.", start: 1.5, end: 1.6, confidence: 1),
            Word(text: "Next", start: 1.9, end: 2.3, confidence: 1, speaker: "Speaker 2"),
        ]
        let transcript = Transcript(segments: Segmenter().segments(of: words), metadata: OutputFormatTests.transcript.metadata)
        let cues = SubtitleStyle.broadcast.cues(for: transcript.segments)
        #expect(cues.count == 2)
        #expect(cues[0].end == 1.9, "the first is stretched up to the next cue, not past it")
        #expect(cues[1].end == 2.9, "the last stays up a second")
        try Self.checkRules(transcript)
    }

    @Test("The real engine's transcript of a two-voice conversation keeps every rule, and txt and json keep every word")
    func realTranscript() async throws {
        let transcript = try await transcribe(Fixtures.path("speech/conversation.wav"), configuration: PipelineConfiguration(maxWorkers: 2))
        try Self.checkRules(transcript)
        let words = transcript.words.map(\.text)
        #expect(
            normalizedWords(try transcript.rendered(as: .txt)).filter { !$0.hasPrefix("speaker") && Int($0) == nil }
                == normalizedWords(words.joined(separator: " ")))
        let decoded = try JSONDecoder().decode(Transcript.self, from: Data(try transcript.rendered(as: .json).utf8))
        #expect(decoded.words.map(\.text) == words)
        // Sentence case for the lower-case engine: segments start with a capital, "I" is one.
        #expect(transcript.segments.allSatisfy { $0.text.first?.isUppercase == true })
        #expect(!words.contains("i") && words.contains("I"))
    }

    @Test("Sentence case only for an engine that writes no capitals; the pronoun I; nothing else changes")
    func sentenceCase() {
        let lower = ["so", "i", "think", "i'm", "right", "in", "italy"].enumerated().map {
            Word(text: $1, start: Double($0), end: Double($0) + 0.5, confidence: 1)
        }
        #expect(Segmenter().segments(of: lower).map(\.text) == ["So I think I'm right in italy"])
        let cased = lower.map { word in
            var word = word
            if word.text == "italy" { word.text = "Italy" }
            return word
        }
        #expect(Segmenter().segments(of: cased).map(\.text) == ["so i think i'm right in Italy"])
    }

    @Test("At a seam, a word both chunks heard is kept once, even when their times differ by 300 ms; a spoken repeat is kept")
    func seams() {
        let chunk0 = [Word(text: "to", start: 9.1, end: 9.3, confidence: 0.9), Word(text: "the", start: 9.6, end: 9.8, confidence: 0.6)]
        let chunk1 = [
            Word(text: "the", start: 9.9, end: 10.1, confidence: 0.8), Word(text: "beach", start: 10.2, end: 10.6, confidence: 0.9),
        ]
        let joined = ReconciliationService.joinedAtSeams([chunk0, chunk1])
        #expect(joined.map(\.text) == ["to", "the", "beach"])
        #expect(joined[1].start == 9.9, "the more confident copy is kept")
        let far = [Word(text: "the", start: 10.4, end: 10.6, confidence: 0.8)]
        #expect(ReconciliationService.joinedAtSeams([chunk0, far]).map(\.text) == ["to", "the", "the"])
        let inside = [Word(text: "had", start: 1, end: 1.2, confidence: 1), Word(text: "had", start: 1.3, end: 1.5, confidence: 1)]
        #expect(ReconciliationService.joinedAtSeams([inside]).count == 2)
    }

    @Test("Given the chunk before's last words, a seam is joined by text: a word timed on the wrong side is kept once, not lost or doubled")
    func seamsByText() {
        // Chunk 1's audio starts at 9 s; it owns 10 s to 20 s. Times below are the chunk's own.
        func chunk(seam: [Word]) -> Chunk {
            var chunk = Chunk(index: 1, samples: [], audioStart: 144_000, ownedStart: 160_000, ownedEnd: 320_000)
            chunk.seamWords = seam
            return chunk
        }
        func word(_ text: String, _ start: Double) -> Word { Word(text: text, start: start, end: start + 0.25, confidence: 0.9) }
        func owned(_ raw: [Word], seam: [Word]) -> [String] {
            ReconciliationService.ownedWords(raw, of: chunk(seam: seam), fileOffset: 0).map(\.text)
        }
        // "them" was heard only by this chunk, timed before its owned start: by time it is lost.
        let lost = [word("of", 0.0), word("them", 0.3), word("the", 1.2), word("dog", 1.5)]
        #expect(owned(lost, seam: []) == ["the", "dog"])
        #expect(owned(lost, seam: [word("proud", 8.6), word("of", 9.0)]) == ["them", "the", "dog"])
        // "i" was heard by both, 1.2 s apart: by time it is kept twice.
        let doubled = [word("i", 1.2), word("spent", 1.5)]
        #expect(owned(doubled, seam: []) == ["i", "spent"])
        #expect(owned(doubled, seam: [word("grass", 8.5), word("i", 9.0)]) == ["spent"])
        // The longest run of the last words wins: "to the", not the nearer lone "the".
        let twice = [word("to", 0.1), word("the", 0.4), word("park", 0.8), word("the", 1.1), word("dog", 1.4)]
        #expect(owned(twice, seam: [word("walked", 8.6), word("to", 8.9), word("the", 9.2)]) == ["park", "the", "dog"])
        // No match, or a match too far from where the chunk before heard it: by time.
        #expect(owned([word("park", 1.2)], seam: [word("walk", 9.0)]) == ["park"])
        let far = [word("a", 0.5), word("the", 2.6), word("dog", 2.9)]
        #expect(owned(far, seam: [word("the", 9.0)]) == ["the", "dog"])
        // Nothing is taken past the owned end.
        #expect(owned([word("of", 0.0), word("them", 0.3), word("late", 11.5)], seam: [word("of", 9.0)]) == ["them"])
        // Spliced words never go before the chunk before's last word.
        let early = ReconciliationService.ownedWords(
            [word("of", 0.0), word("them", 0.05), word("the", 1.2)], of: chunk(seam: [word("of", 9.1)]), fileOffset: 0)
        #expect(early.map(\.text) == ["them", "the"])
        #expect(early.first?.start == 9.35)
    }
}
