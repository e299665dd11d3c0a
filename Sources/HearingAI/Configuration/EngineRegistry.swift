/// The engine a configuration names, with that engine's own settings.
///
/// Settings are the values of the keys the engine's ``EngineFactory`` declares, as read from
/// configuration; secrets (an API key) are held apart: they are never encoded, printed or
/// fingerprinted, and a configuration decoded from storage has none until they are read again.
public struct EngineSelection: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The engine's name, such as `pocketsphinx` or `openai`.
    public var name: String
    /// Its settings by key (`model_dir`, `openai_model`, ...): only keys that were set.
    public var settings: [String: ConfigurationValue]
    /// Secret settings by key. Not encoded.
    public var secrets: [String: String]
    /// Terms the engine should expect (the pipeline key `vocabulary`, read from its file), when
    /// given: every engine takes them in its own way.
    public var vocabulary: Vocabulary?

    /// The embedded engine with its defaults.
    public static let pocketsphinx = EngineSelection(name: PocketSphinxEngine.Factory.name)

    /// An engine selection.
    public init(
        name: String, settings: [String: ConfigurationValue] = [:], secrets: [String: String] = [:], vocabulary: Vocabulary? = nil
    ) {
        self.name = name
        self.settings = settings
        self.secrets = secrets
        self.vocabulary = vocabulary
    }

    private enum CodingKeys: String, CodingKey {
        case name, settings, vocabulary
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        settings = try container.decodeIfPresent([String: ConfigurationValue].self, forKey: .settings) ?? [:]
        vocabulary = try container.decodeIfPresent(Vocabulary.self, forKey: .vocabulary)
        secrets = [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(settings, forKey: .settings)
        try container.encodeIfPresent(vocabulary, forKey: .vocabulary)
    }

    /// The name and settings; secrets only by key.
    public var description: String {
        let shown = settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let hidden = secrets.keys.sorted().map { "\($0)=<secret>" }
        let terms = vocabulary.map { ["vocabulary=\($0.terms.count) terms"] } ?? []
        return ([name] + shown + terms + hidden).joined(separator: " ")
    }

    /// The text setting `key`, if set.
    public func string(_ key: String) -> String? {
        settings[key].map(\.description)
    }

    /// The number setting `key`, if set.
    public func double(_ key: String) -> Double? {
        settings[key]?.doubleValue
    }

    /// The whole-number setting `key`, if set.
    public func int(_ key: String) -> Int? {
        settings[key]?.intValue
    }
}

/// Makes one kind of ``TranscriptionEngine`` from its settings, and declares those settings.
///
/// An engine joins the pipeline by providing a factory and being registered in the
/// ``EngineRegistry`` the executable builds: configuration reads the factory's keys, the
/// command line and the docs are checked against them, and nothing else names the engine.
public protocol EngineFactory: Sendable {
    /// The name `engine` selects.
    var name: String { get }
    /// A few words for `--help`, such as "embedded, offline".
    var summary: String { get }
    /// The keys this engine reads.
    var keys: [ConfigurationKey] { get }
    /// An engine for `selection` (whose ``EngineSelection/name`` is this factory's). Throws a
    /// one-line ``HearingAIError`` for settings that cannot work.
    func makeEngine(_ selection: EngineSelection) throws -> any TranscriptionEngine
}

/// The engines this process can run, by name.
public struct EngineRegistry: Sendable {
    /// The factories, in the order they were registered.
    public private(set) var factories: [any EngineFactory]

    /// A registry of `factories`.
    public init(_ factories: [any EngineFactory]) {
        self.factories = factories
    }

    /// The engines in this library: PocketSphinx only.
    public static let embedded = EngineRegistry([PocketSphinxEngine.Factory()])

    /// This registry with `factory` added.
    public func adding(_ factory: any EngineFactory) -> EngineRegistry {
        var copy = self
        copy.factories.append(factory)
        return copy
    }

    /// The names, in order.
    public var names: [String] { factories.map(\.name) }

    /// The factory for `name`; throws naming the engines there are.
    public func factory(named name: String) throws -> any EngineFactory {
        guard let factory = factories.first(where: { $0.name == name }) else {
            throw HearingAIError(.invalidOptions, reason: "engine: \(name) is not an engine (\(names.joined(separator: " or ")))")
        }
        return factory
    }

    /// Every key of every engine.
    public var keys: [ConfigurationKey] { factories.flatMap(\.keys) }

    /// The engine `selection` names, made from its settings.
    public func makeEngine(_ selection: EngineSelection) throws -> any TranscriptionEngine {
        try factory(named: selection.name).makeEngine(selection)
    }
}
