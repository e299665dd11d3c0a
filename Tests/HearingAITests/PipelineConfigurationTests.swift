import Configuration
import Foundation
import Testing

@testable import HearingAI

@Suite("Pipeline configuration")
struct PipelineConfigurationTests {
    /// A configuration with every field set, optionals included, so that encoding it shows
    /// every field.
    static let full = PipelineConfiguration(
        chunking: ChunkPlan(chunkSize: 20, overlap: 1, boundaryWindow: 1.5), maxWorkers: 2, startTime: 1, endTime: 100,
        sampleDuration: 50, segmentPause: 0.8,
        diarization: DiarizationOptions(
            enabled: true, speakers: 2, minSpeakers: 1, maxSpeakers: 4, speakerPerChannel: true, channelNames: ["Host", "Guest"]),
        engine: EngineSelection(
            name: "pocketsphinx", settings: ["model_dir": .string("/m"), "dictionary": .string("/d")],
            vocabulary: Vocabulary(terms: [.init(text: "Zorblatt", pronunciation: "Z AO R B L AH T")])),
        formats: [.txt, .json], memoryLimit: ConfiguredMemoryLimit(megabytes: 500, source: .flag), audioStream: 1,
        ffmpegStallTimeout: 20, subtitles: SubtitleStyle(maxLineCharacters: 37, maxLines: 3))

    /// The fields that do not shape a transcript: workers (one and several give identical
    /// transcripts), the memory limit, the formats and the subtitle layout (all rendered from
    /// one transcript) and FFmpeg's stall timeout (whether a run fails, not what it produces).
    static let notShaping: Set<String> = ["maxWorkers", "memoryLimit", "formats", "ffmpegStallTimeout", "subtitles"]

    @Test("Changing any field that shapes output changes the fingerprint; the others do not")
    func fingerprintCoversEveryField() throws {
        let base = Self.full
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(base)) as! [String: Any]
        // Every stored property is in the encoding (none left nil), so the walk below sees all.
        let properties = Mirror(reflecting: base).children.compactMap(\.label)
        #expect(Set(properties) == Set(encoded.keys), "a field is missing from the full configuration: set it above")

        var checked = 0
        for path in Self.leafPaths(encoded) {
            let mutated = try #require(try Self.mutating(base, at: path), "no mutation of \(path.joined(separator: ".")) decodes")
            checked += 1
            if Self.notShaping.contains(path[0]) {
                #expect(mutated.fingerprint == base.fingerprint, "\(path.joined(separator: ".")) does not shape output")
            } else {
                #expect(mutated.fingerprint != base.fingerprint, "changing \(path.joined(separator: ".")) must change the fingerprint")
            }
        }
        #expect(checked >= 16)

        // A setting the engine gains shapes output too.
        var extra = base
        extra.engine.settings["language_model"] = .string("/l")
        #expect(extra.fingerprint != base.fingerprint)
    }

    @Test(
        "The first audio stream, named or not, is one fingerprint; the fingerprint of a default configuration is unchanged by the FFmpeg fields"
    )
    func audioStreamFingerprint() throws {
        var named = PipelineConfiguration()
        named.audioStream = 0
        named.ffmpegStallTimeout = 5
        #expect(named.fingerprint == PipelineConfiguration().fingerprint)
        let encoded = String(decoding: try JSONEncoder().encode(PipelineConfiguration().outputShaping), as: UTF8.self)
        #expect(!encoded.contains("audioStream") && !encoded.contains("ffmpegStallTimeout"))
        // The channel options, newer than stored checkpoints, are written only when set.
        #expect(!encoded.contains("speakerPerChannel") && !encoded.contains("channelNames"))
        let old = #"{"enabled":true,"minSpeakers":1,"maxSpeakers":8}"#
        #expect(try JSONDecoder().decode(DiarizationOptions.self, from: Data(old.utf8)) == DiarizationOptions())
    }

    @Test("Changing the speakers changes the result key: the stale-transcript defect")
    func speakersChangeTheKey() {
        var two = PipelineConfiguration()
        two.diarization.speakers = 2
        var three = two
        three.diarization.speakers = 3
        var off = two
        off.diarization.enabled = false
        var pause = two
        pause.segmentPause = 1.5
        let keys = Set([two, three, off, pause].map(\.fingerprint))
        #expect(keys.count == 4)
    }

    @Test("It survives encoding (what --resume stores), secrets excepted")
    func roundTrip() throws {
        var configuration = Self.full
        configuration.engine.secrets["openai_api_key"] = "sk-secret"
        let data = try JSONEncoder().encode(configuration)
        #expect(!String(decoding: data, as: UTF8.self).contains("sk-secret"))
        var decoded = try JSONDecoder().decode(PipelineConfiguration.self, from: data)
        #expect(decoded.engine.secrets.isEmpty)
        decoded.engine.secrets = configuration.engine.secrets
        #expect(decoded == configuration)
    }

    @Test("Keys from a reader, in order of precedence, with their kinds checked")
    func readsKeys() throws {
        let reader = ConfigReader(providers: [
            InMemoryProvider(values: [AbsoluteConfigKey(["chunk_size"]): 12.0, AbsoluteConfigKey(["no-such-key"]): 1]),
            EnvironmentVariablesProvider(environmentVariables: [
                "HEARINGAI_CHUNK_SIZE": "40", "HEARINGAI_SPEAKERS": "3", "HEARINGAI_DIARIZATION": "false",
                "HEARINGAI_SPEAKER_PER_CHANNEL": "true", "HEARINGAI_CHANNEL_NAMES": "Host, Guest",
            ])
            .prefixKeys(with: "hearingai"),
        ])
        let configuration = try PipelineConfiguration(config: reader, environment: ["PYHEARINGAI_MEMORY_LIMIT": "700"])
        #expect(configuration.chunking.chunkSize == 12)
        #expect(configuration.diarization.speakers == 3)
        #expect(configuration.diarization.enabled == false)
        #expect(configuration.diarization.speakerPerChannel)
        #expect(configuration.diarization.channelNames == ["Host", "Guest"])
        #expect(configuration.memoryLimit?.megabytes == 700)
        #expect(configuration.formats == [.txt])
        #expect(configuration.engine == .pocketsphinx)

        let wrongKind = ConfigReader(provider: InMemoryProvider(values: [AbsoluteConfigKey(["max_workers"]): "many"]))
        #expect(throws: HearingAIError.self) { try PipelineConfiguration(config: wrongKind) }
        let badFormat = ConfigReader(provider: InMemoryProvider(values: [AbsoluteConfigKey(["formats"]): "docx"]))
        #expect(throws: HearingAIError.self) { try PipelineConfiguration(config: badFormat) }
    }

    @Test("Subtitle keys: broadcast by default, max_line_chars and max_lines set the layout, nonsense is refused")
    func subtitleKeys() throws {
        #expect(try PipelineConfiguration(config: ConfigReader(provider: InMemoryProvider(values: [:]))).subtitleStyle == .broadcast)
        let narrow = ConfigReader(provider: InMemoryProvider(values: [AbsoluteConfigKey(["max_line_chars"]): 32]))
        let style = try PipelineConfiguration(config: narrow).subtitleStyle
        #expect(style.maxLineCharacters == 32 && style.maxLines == 2)
        for (key, value) in [("max_lines", 0), ("max_line_chars", 3)] {
            let bad = ConfigReader(provider: InMemoryProvider(values: [AbsoluteConfigKey([key]): .init(integerLiteral: value)]))
            #expect(throws: HearingAIError.self) { try PipelineConfiguration(config: bad) }
        }
    }

    // MARK: - Walking the encoding

    /// Paths to every scalar in a JSON object.
    static func leafPaths(_ object: Any, prefix: [String] = []) -> [[String]] {
        if let dictionary = object as? [String: Any] {
            return dictionary.keys.sorted().flatMap { leafPaths(dictionary[$0]!, prefix: prefix + [$0]) }
        }
        if let array = object as? [Any] {
            return array.indices.flatMap { leafPaths(array[$0], prefix: prefix + [String($0)]) }
        }
        return [prefix]
    }

    /// `configuration` with the scalar at `path` changed to another value that still decodes.
    static func mutating(_ configuration: PipelineConfiguration, at path: [String]) throws -> PipelineConfiguration? {
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(configuration))
        let current = value(in: object, at: path)
        var candidates: [Any] = []
        if let number = current as? Double { candidates += [number + 1, number + 0.5] }
        if let flag = current as? Bool { candidates.append(!flag) }
        if let text = current as? String { candidates += [text + "x", text == "txt" ? "srt" : "txt", "flag"] }
        for candidate in candidates {
            let changed = replacing(object, at: path, with: candidate)
            guard let data = try? JSONSerialization.data(withJSONObject: changed),
                let decoded = try? JSONDecoder().decode(PipelineConfiguration.self, from: data),
                decoded != configuration
            else { continue }
            return decoded
        }
        return nil
    }

    static func value(in object: Any, at path: [String]) -> Any? {
        guard let first = path.first else { return object }
        if let dictionary = object as? [String: Any] { return dictionary[first].flatMap { value(in: $0, at: Array(path.dropFirst())) } }
        if let array = object as? [Any], let index = Int(first) { return value(in: array[index], at: Array(path.dropFirst())) }
        return nil
    }

    static func replacing(_ object: Any, at path: [String], with newValue: Any) -> Any {
        guard let first = path.first else { return newValue }
        if var dictionary = object as? [String: Any] {
            dictionary[first] = replacing(dictionary[first]!, at: Array(path.dropFirst()), with: newValue)
            return dictionary
        }
        if var array = object as? [Any], let index = Int(first) {
            array[index] = replacing(array[index], at: Array(path.dropFirst()), with: newValue)
            return array
        }
        return object
    }
}
