import Foundation
import Logging
import Testing
import VigilPostgres
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// The databases a PostgreSQL backend opened during one check, closed at its end.
actor OpenedDatabases {
    private var databases: [ClusterDatabase] = []

    /// A new empty database on `server`, opened (and so migrated).
    func open(on server: PostgresServer) async throws -> ClusterDatabase {
        let url = try DatabaseURL(parsing: server.socketURL(database: try server.createDatabase()))
        let database = try await ClusterDatabase.open(url, logger: quietLogger)
        databases.append(database)
        return database
    }

    func closeAll() async {
        for database in databases { await database.close() }
        databases = []
    }
}

/// Postgres-nio's own log lines (a pool noticing its server stopped) are not what these tests check.
let quietLogger = Logger(label: "vigil.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// The fleet's registry (`ClusterRegistry`) on a real PostgreSQL server: the registry part of the
/// store contract the SQLite registry passes, and the same errors.
@Suite("Cluster registry", .serialized)
struct ClusterRegistryTests {
    @Test("the PostgreSQL registry passes each registry check of the store contract", arguments: StoreContract.registryChecks)
    func contract(_ check: StoreContract.Check) async throws {
        let server = try PostgresServer()
        let opened = OpenedDatabases()
        // The queue checks run against the cluster's alert store in their own suite.
        let backend = StoreBackend(
            "PostgreSQL",
            makeRegistry: { ClusterRegistry(database: try await opened.open(on: server), logger: quietLogger) },
            makeQueue: { throw SupportError("the registry suite makes no alert store") },
            reopen: { _, _ in throw SupportError("the registry suite makes no alert store") })
        try await check.run(backend)
        await opened.closeAll()
    }

    @Test("two nodes on one database see each other's changes, and fail with the SQLite registry's one-line errors")
    func sharedAndSameErrors() async throws {
        let server = try PostgresServer()
        let opened = OpenedDatabases()
        let first = try await opened.open(on: server)
        let second = try await ClusterDatabase.open(first.url, logger: quietLogger)
        let one = ClusterRegistry(database: first, logger: quietLogger)
        let other = ClusterRegistry(database: second, logger: quietLogger)
        let state = try TemporaryDirectory()
        let sqlite = try CameraRegistry(directory: StateDirectory(option: state.path + "/state"))

        let before = try await other.generation()
        let credentials = CameraCredentials(username: "viewer", password: "pw-Xy9")
        try await one.add([(StoreContract.camera("korenmarkt-1"), credentials)])
        #expect(try await other.cameras().map(\.id) == ["korenmarkt-1"])
        #expect(try await other.generation() != before, "a change by another node moves the generation")
        #expect(try await other.username(cameraID: "korenmarkt-1") == "viewer")
        #expect(try await other.watchList().first?.credentials == credentials)
        try await sqlite.add([(StoreContract.camera("korenmarkt-1"), nil)])

        // Identical one-line errors, whichever backend the CLI runs on.
        func failure(_ body: () async throws -> Void) async -> RegistryError? {
            do { try await body() } catch let error as RegistryError { return error } catch { return nil }
            return nil
        }
        let cases: [(String, (any CameraStore) async throws -> Void)] = [
            ("duplicate", { try await $0.add([(StoreContract.camera("korenmarkt-1"), nil)]) }),
            ("unknown update", { try await $0.update(StoreContract.camera("nope"), credentials: .none) }),
            ("unknown removal", { try await $0.remove(id: "nope") }),
        ]
        for (name, operation) in cases {
            let postgres = await failure { try await operation(other) }
            let local = await failure { try await operation(sqlite) }
            #expect(postgres != nil && postgres == local, "\(name): \(String(describing: postgres)) vs \(String(describing: local))")
            #expect(postgres?.description.contains("\n") == false)
        }

        await second.close()
        await opened.closeAll()
    }
}
