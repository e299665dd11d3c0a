public import Foundation
public import PostgresNIO
import Testing

@testable import HearingPostgres

/// Throwaway databases on the test cluster named by `HEARINGAI_TEST_POSTGRES_URL`
/// (`scripts/test-postgres.sh`, started by `make test`): one per test, dropped afterwards.
public enum PostgresTestDatabase {
    /// The cluster's URL (a superuser's), or nil when the PostgreSQL tests are skipped.
    public static let clusterURL: String? = ProcessInfo.processInfo.environment["HEARINGAI_TEST_POSTGRES_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }

    /// Why the PostgreSQL tests did not run.
    public static let skipped = "PostgreSQL tests skipped: HEARINGAI_TEST_POSTGRES_URL is not set (make test starts a cluster)"

    /// A fresh, empty database (owned by `owner` if given): its name and URL.
    public static func create(owner: String? = nil) async throws -> (name: String, url: String) {
        let name = "hearingai_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        _ = try await maintenance { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)" + (owner.map { " OWNER \($0)" } ?? "")), logger: PostgresJobQueue.quiet)
        }
        return (name, try url(database: name))
    }

    /// Drops `name`, ending its connections.
    public static func drop(_ name: String) async {
        _ = try? await maintenance { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: PostgresJobQueue.quiet)
        }
    }

    /// The cluster's URL with another database, user or password.
    public static func url(database: String, user: String? = nil, password: String? = nil, dropping: [String] = []) throws -> String {
        let cluster = try #require(clusterURL)
        var components = try #require(URLComponents(string: cluster))
        components.path = "/" + database
        if let user { components.user = user }
        if let password { components.password = password }
        components.queryItems = components.queryItems?.filter { !dropping.contains($0.name) }
        if components.queryItems?.isEmpty == true { components.queryItems = nil }
        return try #require(components.string)
    }

    /// Runs `body` on a connection to the cluster's maintenance database as its superuser.
    public static func maintenance<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let settings = try PostgresSettings(url: try #require(clusterURL))
        let connection = try await PostgresConnection.connect(
            configuration: try settings.connectionConfiguration(), id: 1, logger: PostgresJobQueue.quiet)
        do {
            let value = try await body(connection)
            try? await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Runs `sql` on database `name` as the superuser and returns its first column's values.
    public static func values<T: PostgresDecodable & Sendable>(_ sql: String, in name: String, as type: T.Type = T.self) async throws -> [T]
    {
        let settings = try PostgresSettings(url: try url(database: name))
        let connection = try await PostgresConnection.connect(
            configuration: try settings.connectionConfiguration(), id: 2, logger: PostgresJobQueue.quiet)
        var values: [T] = []
        do {
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: PostgresJobQueue.quiet).decode(T.self)
            {
                values.append(value)
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
        return values
    }
}
