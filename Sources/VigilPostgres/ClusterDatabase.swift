import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// The fleet's shared PostgreSQL database: a postgres-nio connection pool and the schema.
///
/// The pool runs on postgres-nio's event loops, never on a camera thread or the cooperative pool's
/// blocking path. Open it with ``open(_:logger:)`` (which also migrates), use ``client``, and
/// ``close()`` it when done; the daemon and every CLI command in fleet mode share this one type.
public final class ClusterDatabase: Sendable {
    /// The connection pool; every query of the fleet's stores goes through it.
    public let client: PostgresClient
    /// Where the database is, for log lines and errors (never the password).
    public let url: DatabaseURL
    private let runner: Task<Void, Never>

    private init(url: DatabaseURL, logger: Logger) {
        var configuration: PostgresClient.Configuration
        if let socket = url.socketPath {
            configuration = .init(unixSocketPath: socket, username: url.user, password: url.password, database: url.database)
        } else {
            let tls: PostgresClient.Configuration.TLS = switch url.tls {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
            configuration = .init(host: url.host ?? "localhost", port: url.port, username: url.user,
                                  password: url.password, database: url.database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 8
        self.url = url
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        // Detached: a task started inside a ServiceGroup would inherit its graceful shutdown, and the pool
        // would close before a node could release its leases on the way out.
        runner = Task.detached { await client.run() }
    }

    /// Connects, checks the server answers, and brings the schema up to date.
    public static func open(_ url: DatabaseURL, logger: Logger) async throws(ClusterError) -> ClusterDatabase {
        try await probe(url, logger: logger)
        let database = ClusterDatabase(url: url, logger: logger)
        do {
            try await database.migrate(logger: logger)
        } catch {
            await database.close()
            throw error
        }
        return database
    }

    /// Reads `cluster.database_url_file`, then ``open(_:logger:)``.
    public static func open(urlFile: String, logger: Logger) async throws(ClusterError) -> ClusterDatabase {
        let url: DatabaseURL
        do {
            url = try DatabaseURL(file: urlFile)
        } catch {
            throw ClusterError(.badURL, error.description)
        }
        return try await open(url, logger: logger)
    }

    /// One connection, opened and closed: a server that is down or refuses the login fails here at
    /// once with its reason, where the pool would retry for a minute before giving up.
    private static func probe(_ url: DatabaseURL, logger: Logger) async throws(ClusterError) {
        do {
            var configuration: PostgresConnection.Configuration
            if let socket = url.socketPath {
                configuration = .init(unixSocketPath: socket, username: url.user, password: url.password, database: url.database)
            } else {
                let tls: PostgresConnection.Configuration.TLS = switch url.tls {
                case .disable: .disable
                case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
                case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                }
                configuration = .init(host: url.host ?? "localhost", port: url.port, username: url.user,
                                      password: url.password, database: url.database, tls: tls)
            }
            configuration.options.connectTimeout = .seconds(5)
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try await connection.close()
        } catch {
            throw ClusterError(doing: "cannot connect to the cluster \(url)", error)
        }
    }

    /// Applies the steps of ``ClusterSchema/all`` not applied yet, each in its own transaction,
    /// under an advisory lock so that nodes starting together migrate once.
    func migrate(logger: Logger) async throws(ClusterError) {
        do {
            try await client.withConnection { connection in
                try await connection.query("SELECT pg_advisory_lock(\(ClusterSchema.migrationLockKey))", logger: logger)
                do {
                    try await connection.query("""
                        CREATE TABLE IF NOT EXISTS vigil_migrations (
                            name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                        """, logger: logger)
                    var applied: Set<String> = []
                    for try await name in try await connection.query("SELECT name FROM vigil_migrations", logger: logger)
                        .decode(String.self) {
                        applied.insert(name)
                    }
                    for migration in ClusterSchema.all where !applied.contains(migration.name) {
                        try await connection.withTransaction(logger: logger) { connection in
                            for statement in migration.statements {
                                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                            }
                            try await connection.query("INSERT INTO vigil_migrations (name) VALUES (\(migration.name))", logger: logger)
                        }
                        logger.info("cluster database: applied schema step '\(migration.name)'")
                    }
                } catch {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(ClusterSchema.migrationLockKey))", logger: logger)
                    throw error
                }
                try await connection.query("SELECT pg_advisory_unlock(\(ClusterSchema.migrationLockKey))", logger: logger)
            }
        } catch {
            throw ClusterError(doing: "cannot prepare the cluster \(url)", error)
        }
    }

    /// The names of the schema steps applied, in the order they were.
    public func appliedMigrations() async throws(ClusterError) -> [String] {
        do {
            var names: [String] = []
            for try await name in try await client.query("SELECT name FROM vigil_migrations ORDER BY applied_at, name")
                .decode(String.self) {
                names.append(name)
            }
            return names
        } catch {
            throw ClusterError(doing: "cannot read the cluster \(url)", error)
        }
    }

    /// Closes the pool's connections.
    public func close() async {
        runner.cancel()
        await runner.value
    }
}
