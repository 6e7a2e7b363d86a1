import Foundation
import Logging
import PostgresNIO
import VigilStore

/// The fleet's camera registry: the ``CameraStore`` on the cluster database's `cameras` and
/// `camera_credentials` tables (see `RegistrySchema`), with the SQLite `CameraRegistry`'s semantics
/// and one-line errors.
///
/// A record is stored whole as JSON (`record`, the Codable ``Camera``) beside the columns queries
/// select on. Credentials live in their own table: only ``watchList()`` joins them in. Every change
/// runs in one transaction; ``generation()`` reads the counter the tables' triggers move, so a node's
/// supervisor sees a change made by any node or CLI.
public final class ClusterRegistry: CameraStore {
    private let database: @Sendable () async throws(ClusterError) -> ClusterDatabase
    private let logger: Logger

    /// The registry of `database` (opened, and so migrated, with ``ClusterDatabase/open(_:logger:)``),
    /// which the caller keeps open while using it and closes afterwards.
    public init(database: ClusterDatabase, logger: Logger) {
        self.database = { () async throws(ClusterError) in database }
        self.logger = logger
    }

    /// The registry of a database opened on first use (a fleet node's): a read while it cannot be
    /// opened fails with the open's one-line error, and the next read tries again.
    public init(shared: SharedClusterDatabase, logger: Logger) {
        database = { () async throws(ClusterError) in try await shared.database() }
        self.logger = logger
    }

    // MARK: Reading

    public func cameras() async throws(RegistryError) -> [Camera] {
        try await run("read the cameras of") { client, logger in
            var cameras: [Camera] = []
            for try await record in try await client.query(
                "SELECT record::text FROM cameras ORDER BY id COLLATE \"C\"", logger: logger).decode(String.self) {
                cameras.append(try Self.decode(record))
            }
            return cameras
        }
    }

    public func camera(id: String) async throws(RegistryError) -> Camera? {
        try await run("read a camera of") { client, logger in
            for try await record in try await client.query(
                "SELECT record::text FROM cameras WHERE id = \(id)", logger: logger).decode(String.self) {
                return try Self.decode(record)
            }
            return nil
        }
    }

    public func hasCredentials(cameraID: String) async throws(RegistryError) -> Bool {
        try await username(cameraID: cameraID) != nil
    }

    public func username(cameraID: String) async throws(RegistryError) -> String? {
        try await run("read the credentials of") { client, logger in
            for try await username in try await client.query(
                "SELECT username FROM camera_credentials WHERE camera_id = \(cameraID)", logger: logger).decode(String.self) {
                return username
            }
            return nil
        }
    }

    // MARK: Writing

    /// Adds cameras (and their credentials) in one transaction: all or nothing.
    public func add(_ entries: [(camera: Camera, credentials: CameraCredentials?)]) async throws(RegistryError) {
        let rows = try entries.map { entry throws(RegistryError) in (entry.camera, try Self.encode(entry.camera), entry.credentials) }
        try await transaction("add cameras to") { connection, logger in
            for (camera, record, credentials) in rows {
                // ON CONFLICT: a camera another node or command added at the same moment is a duplicate too.
                let inserted = try await connection.query("""
                    INSERT INTO cameras (id, enabled, is_public, record, created_at, updated_at)
                    VALUES (\(camera.id), \(camera.enabled), \(camera.isPublic), \(record)::jsonb, \(camera.createdAt), \(camera.updatedAt))
                    ON CONFLICT (id) DO NOTHING RETURNING id
                    """, logger: logger).collect()
                guard !inserted.isEmpty else {
                    throw RegistryError(.duplicateCamera, "camera '\(camera.id)' already exists; use 'vigil camera update'")
                }
                if let credentials {
                    try await Self.store(credentials, of: camera.id, connection, logger)
                }
            }
        }
    }

    /// Replaces a camera's record; `credentials` replaces the stored ones when given
    /// (`.some(nil)` removes them).
    public func update(_ camera: Camera, credentials: CameraCredentials??) async throws(RegistryError) {
        try await transaction("update a camera of") { connection, logger in
            var existing: Camera?
            for try await record in try await connection.query(
                "SELECT record::text FROM cameras WHERE id = \(camera.id) FOR UPDATE", logger: logger).decode(String.self) {
                existing = try Self.decode(record)
            }
            guard let existing else { throw RegistryError.unknownCamera(camera.id) }
            var row = camera
            row.createdAt = existing.createdAt
            row.updatedAt = Date()
            let record = try Self.encode(row)
            try await connection.query("""
                UPDATE cameras SET enabled = \(row.enabled), is_public = \(row.isPublic), record = \(record)::jsonb,
                                   updated_at = \(row.updatedAt)
                WHERE id = \(row.id)
                """, logger: logger)
            if case .some(let replacement) = credentials {
                try await connection.query("DELETE FROM camera_credentials WHERE camera_id = \(camera.id)", logger: logger)
                if let replacement { try await Self.store(replacement, of: camera.id, connection, logger) }
            }
        }
    }

    /// Removes a camera and its credentials.
    public func remove(id: String) async throws(RegistryError) {
        try await transaction("remove a camera from") { connection, logger in
            let removed = try await connection.query("DELETE FROM cameras WHERE id = \(id) RETURNING id", logger: logger).collect()
            guard !removed.isEmpty else { throw RegistryError.unknownCamera(id) }
        }
    }

    private static func store(_ credentials: CameraCredentials, of id: String, _ connection: PostgresConnection,
                              _ logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO camera_credentials (camera_id, username, password)
            VALUES (\(id), \(credentials.username), \(credentials.password))
            """, logger: logger)
    }

    // MARK: CameraSource

    public func watchList() async throws(RegistryError) -> [WatchedCamera] {
        try await run("read the cameras of") { client, logger in
            var cameras: [WatchedCamera] = []
            for try await (record, username, password) in try await client.query("""
                SELECT c.record::text, k.username, k.password
                FROM cameras c LEFT JOIN camera_credentials k ON k.camera_id = c.id
                ORDER BY c.id COLLATE "C"
                """, logger: logger).decode((String, String?, String?).self) {
                let credentials = username.flatMap { user in password.map { CameraCredentials(username: user, password: $0) } }
                cameras.append(WatchedCamera(camera: try Self.decode(record), credentials: credentials))
            }
            return cameras
        }
    }

    public func generation() async throws(RegistryError) -> RegistryGeneration {
        try await run("read the registry generation of") { client, logger in
            for try await value in try await client.query("SELECT value FROM registry_generation", logger: logger)
                .decode(Int64.self) {
                return RegistryGeneration(value)
            }
            throw RegistryError(.database, "the cluster database has no registry generation; is its schema intact?")
        }
    }

    // MARK: Plumbing

    private static func encode(_ camera: Camera) throws(RegistryError) -> String {
        do {
            return String(decoding: try JSONEncoder().encode(camera), as: UTF8.self)
        } catch {
            throw RegistryError(.database, "cannot store camera '\(camera.id)': \(error)")
        }
    }

    private static func decode(_ record: String) throws(RegistryError) -> Camera {
        do {
            return try JSONDecoder().decode(Camera.self, from: Data(record.utf8))
        } catch {
            throw RegistryError(.database, "a camera record in the cluster database cannot be read: \(error)")
        }
    }

    /// Runs `body` on the pool; a ``RegistryError`` it throws passes through, a database failure
    /// becomes one line naming what was done ("cannot `doing` the cluster ...").
    private func run<T>(_ doing: String, _ body: (PostgresClient, Logger) async throws -> T) async throws(RegistryError) -> T {
        let database = try await opened()
        do {
            return try await body(database.client, logger)
        } catch {
            throw registryError(error, doing: "cannot \(doing) the cluster \(database.url)")
        }
    }

    /// Runs `body` in one transaction, rolled back when it throws.
    private func transaction(_ doing: String,
                             _ body: (PostgresConnection, Logger) async throws -> Void) async throws(RegistryError) {
        let logger = logger, database = try await opened()
        do {
            try await database.client.withTransaction(logger: logger) { connection in try await body(connection, logger) }
        } catch {
            throw registryError(error, doing: "cannot \(doing) the cluster \(database.url)")
        }
    }

    private func opened() async throws(RegistryError) -> ClusterDatabase {
        do {
            return try await database()
        } catch {
            throw RegistryError(.database, error.description)
        }
    }

    private func registryError(_ error: any Error, doing: String) -> RegistryError {
        if let registryError = error as? RegistryError { return registryError }
        if let transaction = error as? PostgresTransactionError, let registryError = transaction.closureError as? RegistryError {
            return registryError
        }
        return RegistryError(.database, ClusterError(doing: doing, error).description)
    }
}
