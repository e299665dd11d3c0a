public import Configuration
import Foundation
public import HearingAI

/// The HTTP API's settings, read from the same configuration as the service's
/// (flags, then `HEARINGAI_` + the key in upper case, then the YAML file, then these defaults):
///
/// | key | default | meaning |
/// |---|---|---|
/// | `listen` | none (off) | where to listen: `HOST:PORT` or `unix:PATH`; several separated by commas (or a YAML list; `--listen` repeats) |
/// | `api_token_file` | none | a file of bearer tokens, one per line |
/// | `api_insecure_no_auth` | false | allow a TCP listener without tokens |
/// | `max_upload_mb` | 2048 | larger uploads are refused with 413 |
/// | `api_idle_timeout_seconds` | 30 | a client that sends nothing for this long while its request is read is disconnected |
public struct APIConfiguration: Sendable {
    /// Where to listen; empty: no API.
    public var listen: [ListenAddress]
    /// The accepted bearer tokens; empty: none configured.
    public var tokens: [String]
    /// Whether a TCP listener may run without tokens.
    public var insecureNoAuth: Bool
    /// The largest upload accepted, in bytes.
    public var maxUploadBytes: Int64
    /// How long a request being read may stall before its connection is closed.
    public var idleTimeout: Duration

    /// Reads the keys above from `config`, reads the token file, and checks that a TCP
    /// listener is not left open to anyone by mistake. Throws a one-line ``HearingAIError``.
    public init(config: ConfigReader) throws {
        let keys = Keys.self
        let addresses = try config.strings(for: keys.listen) ?? []
        listen = try addresses.map(ListenAddress.init(parsing:))
        insecureNoAuth = try config.value(for: keys.insecureNoAuth) == .bool(true)
        maxUploadBytes = Int64(max(1, try config.value(for: keys.maxUploadMB)?.intValue ?? 2048)) * 1_048_576
        idleTimeout = .milliseconds(Int64(max(1, try config.value(for: keys.idleTimeoutSeconds)?.doubleValue ?? 30) * 1000))
        if let path = try config.value(for: keys.tokenFile)?.description {
            tokens = try Self.readTokens(path)
        } else {
            tokens = []
        }
        if tokens.isEmpty, !insecureNoAuth, let open = listen.first(where: \.isTCP) {
            throw HearingAIError(
                .invalidOptions,
                reason:
                    "--listen \(open) is a TCP listener and no tokens are configured: give --api-token-file, or --api-insecure-no-auth to allow anyone who can reach it"
            )
        }
    }

    /// The tokens in `path`: one per line, blank lines and `#` comments skipped. The file
    /// must exist and hold at least one.
    static func readTokens(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HearingAIError(.invalidOptions, path: path, reason: "cannot read the API token file")
        }
        let tokens = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !tokens.isEmpty else { throw HearingAIError(.invalidOptions, path: path, reason: "the API token file holds no token") }
        return tokens
    }

    /// The API's keys.
    public static let keys: [ConfigurationKey] = [
        Keys.listen, Keys.tokenFile, Keys.insecureNoAuth, Keys.maxUploadMB, Keys.idleTimeoutSeconds,
    ]

    /// The API's keys by name.
    public enum Keys {
        /// `listen`.
        public static let listen = ConfigurationKey(
            "listen", .strings, flag: "--listen", default: "none",
            help: "Serve the HTTP API at HOST:PORT or unix:PATH (repeatable).")
        /// `api_token_file`.
        public static let tokenFile = ConfigurationKey(
            "api_token_file", .string, flag: "--api-token-file", default: "none",
            help: "File of API bearer tokens, one per line.")
        /// `api_insecure_no_auth`.
        public static let insecureNoAuth = ConfigurationKey(
            "api_insecure_no_auth", .bool, flag: "--api-insecure-no-auth", default: "false",
            help: "Allow a TCP listener without tokens.")
        /// `max_upload_mb`.
        public static let maxUploadMB = ConfigurationKey(
            "max_upload_mb", .int, flag: "--max-upload-mb", default: "2048", help: "Larger uploads are refused (413).")
        /// `api_idle_timeout_seconds`.
        public static let idleTimeoutSeconds = ConfigurationKey(
            "api_idle_timeout_seconds", .double, default: "30",
            help: "A client that sends nothing for this long while its request is read is disconnected.")
    }
}

/// Where the API listens: a TCP host and port, or a unix socket.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The kinds of address.
    public enum Kind: Sendable, Hashable {
        /// TCP on `host` (a name or an IP address), `port`.
        case tcp(host: String, port: Int)
        /// A unix socket at `path`.
        case unix(path: String)
    }

    /// The address.
    public var kind: Kind

    /// Parses `HOST:PORT`, `[IPv6]:PORT`, `:PORT` (loopback: private by default) or
    /// `unix:PATH`.
    public init(parsing text: String) throws {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/") || path.hasPrefix(".") else {
                throw HearingAIError(
                    .invalidOptions, reason: "--listen \(text): a unix socket needs a path, such as unix:/run/hearingai/api.sock")
            }
            kind = .unix(path: path)
            return
        }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw HearingAIError(.invalidOptions, reason: "--listen \(text): expected HOST:PORT or unix:PATH")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        kind = .tcp(host: host.isEmpty ? "127.0.0.1" : host, port: port)
    }

    /// Whether this is a TCP listener.
    public var isTCP: Bool {
        if case .tcp = kind { return true }
        return false
    }

    public var description: String {
        switch kind {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}
