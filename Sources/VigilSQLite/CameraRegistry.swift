import Foundation
import GRDB
import VigilStore

/// The private camera registry: `<state dir>/registry.sqlite`, the SQLite ``CameraStore``.
///
/// Its ``CameraSource`` reads (what the daemon's supervisor uses) are async on GRDB's own queues;
/// the editing methods run synchronously on the caller's thread, for the CLI, and also serve the
/// async ``CameraStore`` requirements (the contract tests).
///
/// Camera records and their credentials live in separate tables. Nothing that lists or exports
/// cameras reads the credentials table; only `connectURLs(for:)` and `watchList()` join them,
/// to build the URLs the shim connects to. Safe to use from several processes at once (WAL, busy timeout).
public final class CameraRegistry: Sendable {
    public static let fileName = "registry.sqlite"

    private let pool: DatabasePool

    /// Opens (creating and migrating when needed) the registry in `directory`.
    public init(directory: StateDirectory) throws(RegistryError) {
        do {
            try directory.prepare()
        } catch {
            throw RegistryError(.cannotOpen, error.description)
        }
        do {
            pool = try SQLiteFile.openPool(at: directory.file(Self.fileName), label: "registry")
            try Self.migrator.migrate(pool)
        } catch {
            throw RegistryError(.cannotOpen, "cannot open registry \(directory.file(Self.fileName).path): \(error)")
        }
    }

    /// Opens an existing registry read-only, for commands that only read it on a state directory
    /// this user cannot write. SQLite needs the WAL index of a WAL database: when it is absent (no
    /// writer is running) or unreadable, the file is read as immutable, which shows the registry as
    /// of the daemon's last checkpoint.
    public init(readingFrom directory: StateDirectory) throws(RegistryError) {
        let file = directory.file(Self.fileName)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw RegistryError(.notFound, "no registry at \(file.path), and the state directory is not writable; "
                                + "pass --state-dir DIR")
        }
        var configuration = Configuration()
        configuration.label = "registry"
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        do {
            let walIndex = access(file.path + "-shm", R_OK) == 0
            pool = try DatabasePool(path: walIndex ? file.path : "file:\(file.path)?immutable=1",
                                    configuration: configuration)
            _ = try pool.read { db in try Camera.fetchCount(db) }
        } catch {
            throw RegistryError(.cannotOpen, "cannot read registry \(file.path): \(error)")
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: cameras and credentials") { db in
            try db.create(table: "camera") { table in
                table.primaryKey("id", .text)
                table.column("name", .text).notNull()
                table.column("streamURL", .text).notNull()
                table.column("detectURL", .text)
                table.column("enabled", .boolean).notNull()
                table.column("latitude", .double).notNull()
                table.column("longitude", .double).notNull()
                table.column("address", .text)
                table.column("municipality", .text).notNull()
                table.column("operatorName", .text).notNull()
                table.column("purpose", .text).notNull()
                table.column("legalBasis", .text)
                table.column("retentionDays", .integer)
                table.column("viewDirection", .double)
                table.column("isPublic", .boolean).notNull()
                table.column("model", .text)
                table.column("firmware", .text)
                table.column("detection", .text)
                table.column("createdAt", .datetime).notNull()
                table.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "cameraCredential") { table in
                table.primaryKey("cameraID", .text).references("camera", onDelete: .cascade)
                table.column("username", .text).notNull()
                table.column("password", .text).notNull()
            }
        }
        migrator.registerMigration("v2: declaration fields") { db in
            try db.alter(table: "camera") { table in
                table.add(column: "placeType", .text)
                table.add(column: "mount", .text)
                table.add(column: "pictogram", .boolean)
                table.add(column: "contact", .text)
                table.add(column: "declared", .text)
            }
        }
        migrator.registerMigration("v3: legal exception to the retention limit") { db in
            try db.alter(table: "camera") { table in table.add(column: "legalException", .text) }
        }
        migrator.registerMigration("v4: generation") { db in
            // One counter every change to a camera or its credentials moves, in the same transaction
            // (also the CLI's, in another process): what `generation()` reads.
            try db.execute(sql: """
                CREATE TABLE registryGeneration (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
                INSERT INTO registryGeneration (id, value) VALUES (1, 0);
                """)
            for table in ["camera", "cameraCredential"] {
                for change in ["INSERT", "UPDATE", "DELETE"] {
                    try db.execute(sql: """
                        CREATE TRIGGER \(table)\(change.capitalized)Generation AFTER \(change) ON \(table)
                        BEGIN UPDATE registryGeneration SET value = value + 1; END
                        """)
                }
            }
        }
        return migrator
    }

    // MARK: Reading

    /// Every camera, ordered by id.
    public func cameras() throws(RegistryError) -> [Camera] {
        try read { db in try Camera.order(Column("id")).fetchAll(db) }
    }

    public func camera(id: String) throws(RegistryError) -> Camera? {
        try read { db in try Camera.fetchOne(db, key: id) }
    }

    /// Whether credentials are stored for the camera (never the credentials themselves).
    public func hasCredentials(cameraID: String) throws(RegistryError) -> Bool {
        try read { db in try CredentialRow.exists(db, key: cameraID) }
    }

    /// The stored user name, for display (the password is never returned for display).
    public func username(cameraID: String) throws(RegistryError) -> String? {
        try read { db in try CredentialRow.fetchOne(db, key: cameraID)?.username }
    }

    /// The URLs the shim connects to, with credentials percent-encoded in, and the credentials so
    /// the caller can register them for redaction.
    public func connectURLs(for camera: Camera) throws(RegistryError)
        -> (stream: String, detect: String?, credentials: CameraCredentials?)
    {
        let connection = try read { db in try Self.connection(to: camera, db) }
        return (connection.streamURL, connection.detectURL, connection.credentials)
    }

    private static func connection(to camera: Camera, _ db: Database) throws -> WatchedCamera {
        let credentials = try CredentialRow.fetchOne(db, key: camera.id).map {
            CameraCredentials(username: $0.username, password: $0.password)
        }
        return WatchedCamera(camera: camera, credentials: credentials)
    }

    // MARK: Writing

    /// Adds cameras (and their credentials) in one transaction: all or nothing.
    public func add(_ entries: [(camera: Camera, credentials: CameraCredentials?)]) throws(RegistryError) {
        try write { db in
            for entry in entries {
                if try Camera.exists(db, key: entry.camera.id) {
                    throw RegistryError(.duplicateCamera, "camera '\(entry.camera.id)' already exists; use 'vigil camera update'")
                }
                try entry.camera.insert(db)
                if let credentials = entry.credentials {
                    try CredentialRow(cameraID: entry.camera.id, credentials: credentials).insert(db)
                }
            }
        }
    }

    /// Replaces a camera's record; `credentials` replaces the stored ones when given
    /// (`.some(nil)` removes them).
    public func update(_ camera: Camera, credentials: CameraCredentials?? = .none) throws(RegistryError) {
        try write { db in
            guard let existing = try Camera.fetchOne(db, key: camera.id) else {
                throw RegistryError.unknownCamera(camera.id)
            }
            var row = camera
            row.createdAt = existing.createdAt
            row.updatedAt = Date()
            try row.update(db)
            if case .some(let replacement) = credentials {
                try CredentialRow.deleteOne(db, key: camera.id)
                if let replacement { try CredentialRow(cameraID: camera.id, credentials: replacement).insert(db) }
            }
        }
    }

    /// Removes a camera and its credentials.
    public func remove(id: String) throws(RegistryError) {
        try write { db in
            guard try Camera.deleteOne(db, key: id) else { throw RegistryError.unknownCamera(id) }
        }
    }

    // MARK: CameraSource

    /// Read on GRDB's reader queue: the calling task suspends, no thread of the cooperative pool waits.
    public func watchList() async throws(RegistryError) -> [WatchedCamera] {
        try await readAsync { db in
            try Camera.order(Column("id")).fetchAll(db).map {
                try Self.connection(to: $0, db)
            }
        }
    }

    public func generation() async throws(RegistryError) -> RegistryGeneration {
        try await readAsync { db in
            RegistryGeneration(try Int64.fetchOne(db, sql: "SELECT value FROM registryGeneration") ?? 0)
        }
    }

    // MARK: Plumbing

    private func readAsync<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(RegistryError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw RegistryError.wrapping(error)
        }
    }

    private func read<T>(_ body: (Database) throws -> T) throws(RegistryError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw RegistryError.wrapping(error)
        }
    }

    private func write<T>(_ body: (Database) throws -> T) throws(RegistryError) -> T {
        do {
            return try pool.write(body)
        } catch {
            throw RegistryError.wrapping(error)
        }
    }
}

extension CameraRegistry: CameraStore {}

extension RegistryError {
    static func wrapping(_ error: any Error) -> RegistryError {
        if let registryError = error as? RegistryError { return registryError }
        if let databaseError = error as? DatabaseError {
            return RegistryError(.database, "registry database error: \(databaseError.message ?? "\(databaseError.resultCode)")")
        }
        return RegistryError(.database, "registry error: \(error)")
    }
}

/// Camera records are stored as they are, one column per property.
extension Camera: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "camera"
}

/// The `cameraCredential` table's row.
private struct CredentialRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "cameraCredential"

    var cameraID: String
    var username: String
    var password: String

    init(cameraID: String, credentials: CameraCredentials) {
        self.cameraID = cameraID
        username = credentials.username
        password = credentials.password
    }
}
