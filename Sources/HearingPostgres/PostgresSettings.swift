import Foundation
import HearingAI
import PostgresNIO

/// Where and how to connect, from a libpq-style URL: `postgres://` or `postgresql://`, then
/// `user:password@host:port/database?parameters`.
///
/// A host that starts with `/` (in the URL percent-encoded, or as the `host` parameter, which wins)
/// is a directory holding the server's unix socket, as libpq has it: the socket is
/// `DIR/.s.PGSQL.PORT`, and TLS is off. Over TCP, `sslmode` chooses TLS as libpq does, as far as
/// postgres-nio offers it: `disable`; `allow` and `prefer` (the default) encrypt when the server
/// can, without verifying its certificate; `require` insists on TLS, without verifying;
/// `verify-ca` verifies the certificate against the system's trust roots; `verify-full` also the
/// host name. Other parameters: `user`, `password`, `dbname`, `port`, `connect_timeout`
/// (seconds) and `application_name`. A missing user is the process's user, a missing database
/// the user's name.
struct PostgresSettings: Sendable {
    /// Where the server is.
    enum Endpoint: Sendable, Equatable {
        /// A TCP host and port.
        case tcp(host: String, port: Int)
        /// A unix socket's path.
        case socket(path: String)
    }

    /// TLS, as libpq's `sslmode` names it.
    enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    var endpoint: Endpoint
    var user: String
    var password: String?
    var database: String
    var sslMode: SSLMode
    var connectTimeout: Duration
    var applicationName: String?

    /// Parses `url`; `password`, when given, replaces the URL's. Errors never repeat a password.
    init(url: String, password explicitPassword: String? = nil) throws {
        func invalid(_ reason: String) -> HearingAIError {
            HearingAIError(.queueFailed, reason: "invalid PostgreSQL URL: \(reason)")
        }
        guard let components = URLComponents(string: url) else {
            throw invalid("not a URL (expected postgres://user@host:port/database)")
        }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw invalid("the scheme must be postgres:// or postgresql://")
        }
        var host = components.host.flatMap { $0.isEmpty ? nil : $0 }
        var port = components.port
        var user = components.user.flatMap { $0.isEmpty ? nil : $0 }
        var password = components.password
        var database: String? = String(components.path.drop { $0 == "/" }).removingPercentEncoding.flatMap { $0.isEmpty ? nil : $0 }
        var sslMode: SSLMode?
        var connectTimeout: Duration = .seconds(10)
        var applicationName: String?
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "host": host = value
            case "port":
                guard let number = Int(value), (1...65535).contains(number) else { throw invalid("port must be a number from 1 to 65535") }
                port = number
            case "user": user = value
            case "password": password = value
            case "dbname": database = value
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw invalid(
                        "sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(value)\"")
                }
                sslMode = mode
            case "connect_timeout":
                guard let seconds = Int(value), seconds >= 0 else { throw invalid("connect_timeout must be whole seconds") }
                connectTimeout = .seconds(seconds == 0 ? 10 : seconds)
            case "application_name": applicationName = value
            default:
                throw invalid("unsupported parameter \"\(item.name)\"")
            }
        }
        let resolvedPort = port ?? 5432
        if let explicitPassword { password = explicitPassword }
        self.user = user ?? NSUserName()
        self.password = password
        self.database = database ?? self.user
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
        if let host, host.hasPrefix("/") {
            endpoint = .socket(path: (host as NSString).appendingPathComponent(".s.PGSQL.\(resolvedPort)"))
            self.sslMode = .disable
        } else {
            endpoint = .tcp(host: host ?? "localhost", port: resolvedPort)
            self.sslMode = sslMode ?? .prefer
        }
    }

    /// The server, user and database, for messages: never the password.
    var description: String {
        switch endpoint {
        case .tcp(let host, let port): "\(user)@\(host):\(port)/\(database)"
        case .socket(let path): "\(user)@\(path)/\(database)"
        }
    }

    /// The TLS configuration `sslmode` asks for, or nil for none.
    private var tlsConfiguration: TLSConfiguration? {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable: return nil
        case .allow, .prefer, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        return tls
    }

    /// The pool's configuration.
    var clientConfiguration: PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        switch endpoint {
        case .socket(let path):
            configuration = .init(unixSocketPath: path, username: user, password: password, database: database)
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS =
                switch (sslMode, tlsConfiguration) {
                case (_, nil): .disable
                case (.allow, let tls?), (.prefer, let tls?): .prefer(tls)
                case (_, let tls?): .require(tls)
                }
            configuration = .init(host: host, port: port, username: user, password: password, database: database, tls: tls)
        }
        configuration.options.connectTimeout = connectTimeout
        if let applicationName { configuration.options.additionalStartupParameters = [("application_name", applicationName)] }
        return configuration
    }

    /// A single connection's configuration (for migrations, before the pool starts).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        switch endpoint {
        case .socket(let path):
            configuration = .init(unixSocketPath: path, username: user, password: password, database: database)
        case .tcp(let host, let port):
            var tls: PostgresConnection.Configuration.TLS = .disable
            if let tlsConfiguration {
                let context = try NIOSSLContext(configuration: tlsConfiguration)
                tls = sslMode == .allow || sslMode == .prefer ? .prefer(context) : .require(context)
            }
            configuration = .init(host: host, port: port, username: user, password: password, database: database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(connectTimeout.components.seconds)
        if let applicationName { configuration.options.additionalStartupParameters = [("application_name", applicationName)] }
        return configuration
    }
}
