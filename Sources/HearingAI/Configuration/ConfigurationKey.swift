/// One configuration key: its name (in YAML, and upper-cased after `HEARINGAI_` in the
/// environment), the command-line flag that sets it, its documented default, and its meaning.
///
/// Every way in — flags, environment, the YAML file, and later the HTTP API — names an option
/// by its key, so a key is declared once, here or beside the engine that reads it, and the
/// flags, the `--help` text and docs/configuration.md are checked against these declarations.
public struct ConfigurationKey: Sendable, Hashable, CustomStringConvertible {
    /// The kind of value a key holds.
    public enum Kind: String, Sendable, Hashable {
        /// Text.
        case string
        /// A whole number.
        case int
        /// A number.
        case double
        /// `true` or `false`.
        case bool
        /// A list of text: a repeatable flag, a list in YAML, comma-separated in the
        /// environment. Read with ``Configuration/ConfigReader/strings(for:)``.
        case strings
    }

    /// The key, such as `chunk_size`.
    public var name: String
    /// What it holds.
    public var kind: Kind
    /// The long flag that sets it, such as `--chunk-size`, if there is one.
    public var flag: String?
    /// The default as documented, such as `30`.
    public var defaultValue: String
    /// One sentence for `--help` and the docs.
    public var help: String
    /// Whether the value is a secret: never logged, encoded or fingerprinted.
    public var isSecret: Bool
    /// Environment variables read, in order, when the key is set nowhere else (such as
    /// `OPENAI_API_KEY` for `openai_api_key`).
    public var environmentFallbacks: [String]

    /// A key.
    public init(
        _ name: String, _ kind: Kind, flag: String? = nil, default defaultValue: String, help: String,
        isSecret: Bool = false, environmentFallbacks: [String] = []
    ) {
        self.name = name
        self.kind = kind
        self.flag = flag
        self.defaultValue = defaultValue
        self.help = help
        self.isSecret = isSecret
        self.environmentFallbacks = environmentFallbacks
    }

    /// `HEARINGAI_` and the key in upper case.
    public var environmentVariable: String { "HEARINGAI_" + name.uppercased() }

    /// The flag's name without its dashes, for argument parsers.
    public var flagName: String? { flag.map { String($0.drop(while: { $0 == "-" })) } }

    public var description: String { name }
}

/// A value as configuration holds it: what a key of ``ConfigurationKey/Kind`` reads.
///
/// Engine settings are kept as these, so that an engine in another module can declare keys
/// that the pipeline's configuration reads, stores, fingerprints and hands back to it.
public enum ConfigurationValue: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Text.
    case string(String)
    /// A whole number.
    case int(Int)
    /// A number.
    case double(Double)
    /// A flag.
    case bool(Bool)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        }
    }

    /// The value as text (numbers and flags spelled as in YAML).
    public var description: String {
        switch self {
        case .string(let value): value
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .bool(let value): String(value)
        }
    }

    /// The value as a number, if it is one (a whole number counts).
    public var doubleValue: Double? {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        case .string(let value): Double(value)
        case .bool: nil
        }
    }

    /// The value as a whole number, if it is one.
    public var intValue: Int? {
        switch self {
        case .int(let value): value
        case .double(let value): value.rounded() == value ? Int(exactly: value) : nil
        case .string(let value): Int(value)
        case .bool: nil
        }
    }
}
