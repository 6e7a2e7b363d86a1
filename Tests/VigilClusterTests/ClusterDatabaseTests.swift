import Foundation
import Logging
import Testing
import VigilPostgres
import VigilTesting

/// Opening the fleet database: the URL file, the schema, and the errors a user sees.
@Suite("Cluster database", .serialized)
struct ClusterDatabaseTests {
    let logger = Logger(label: "test")

    @Test("opening migrates a new database once, also when several nodes open it at the same moment")
    func migratesOnce() async throws {
        let server = try PostgresServer()
        let name = try server.createDatabase()
        let url = try DatabaseURL(parsing: server.socketURL(database: name))
        let opened = try await withThrowingTaskGroup(of: ClusterDatabase.self) { group in
            for _ in 0..<3 { group.addTask { try await ClusterDatabase.open(url, logger: logger) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let applied = try await opened[0].appliedMigrations()
        #expect(applied == ClusterSchema.all.map(\.name))
        for database in opened { await database.close() }
        let tables = try server.psql(name, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")
        #expect(tables.trimmingCharacters(in: .whitespacesAndNewlines)
                == "alerts,camera_credentials,cameras,dead_letters,leases,nodes,registry_generation,sink_cursors,vigil_migrations")
        let again = try await ClusterDatabase.open(url, logger: logger)
        #expect(try await again.appliedMigrations() == applied)
        await again.close()
    }

    @Test("a URL file that is missing, malformed or points nowhere fails in one line without the password")
    func badURLs() async throws {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("database-url").path
        await #expect(throws: ClusterError.self) { try await ClusterDatabase.open(urlFile: file, logger: logger) }
        let cases: [(url: String, says: String)] = [
            ("mysql://vigil:s3cret-pw@db/vigil", "not a postgresql:// URL"),
            ("postgresql://vigil:s3cret-pw@db", "names no database"),
            ("postgresql://vigil:s3cret-pw@/vigil", "names no host"),
            ("postgresql://vigil:s3cret-pw@db/vigil?sslmode=maybe", "sslmode"),
            ("postgresql://vigil:s3cret-pw@127.0.0.1:\(try closedPort())/vigil?sslmode=disable", "cannot be reached"),
        ]
        for (url, says) in cases {
            try url.write(toFile: file, atomically: true, encoding: .utf8)
            do {
                let database = try await ClusterDatabase.open(urlFile: file, logger: logger)
                await database.close()
                Issue.record("opened \(url)")
            } catch {
                #expect(error.description.contains(says), "\(url): \(error.description)")
                #expect(!error.description.contains("s3cret-pw"), "\(url): the error shows the password")
                #expect(!error.description.contains("\n"), "\(url): \(error.description)")
            }
        }
    }
}
