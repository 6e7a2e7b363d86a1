import Foundation
import Logging
import PostgresNIO
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

    @Test("a failed transaction names its cause (the constraint it broke); a session the server ends is unreachable; never the password")
    func describedCauses() async throws {
        let server = try PostgresServer()
        let name = try server.createDatabase()
        // Trust authentication ignores the password; it is there to be kept out of the messages.
        let url = try DatabaseURL(parsing: server.socketURL(database: name).replacingOccurrences(of: "@", with: ":s3cret-pw@"))
        let database = try await ClusterDatabase.open(url, logger: logger)
        try server.psql(name, "CREATE TABLE things (id int PRIMARY KEY)")
        let logger = logger
        var messages: [ClusterError] = []
        func failure(_ work: () async throws -> Void) async {
            do {
                try await work()
                Issue.record("it did not fail")
            } catch {
                messages.append(ClusterError(doing: "cannot store things in the cluster \(url)", error))
            }
        }
        await failure {
            try await database.client.withTransaction(logger: logger) { connection in
                try await connection.query("INSERT INTO things VALUES (1)", logger: logger)
                try await connection.query("INSERT INTO things VALUES (1)", logger: logger)
            }
        }
        // An administrator ends the session while its query runs, then the server stops while another runs.
        for end in ["SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(10)'", nil] {
            let ending = Task {
                try await Task.sleep(for: .milliseconds(500))
                if let end { try server.psql(name, end) } else { try server.stop() }
            }
            await failure {
                try await database.client.withConnection { connection in
                    for try await _ in try await connection.query("SELECT pg_sleep(10)", logger: logger) {}
                }
            }
            try await ending.value
        }
        print("errors described: \(messages.map(\.description))")
        try #require(messages.count == 3)
        #expect(messages[0].code == .database)
        #expect(messages[0].description.contains(#"duplicate key value violates unique constraint "things_pkey" (SQLSTATE 23505)"#),
                "\(messages[0])")
        #expect(messages[1].code == .unreachable && messages[1].description.contains("administrator command (SQLSTATE 57P01)"),
                "\(messages[1])")
        #expect(messages[2].code == .unreachable, "\(messages[2])")
        for message in messages {
            #expect(message.description.hasPrefix("cannot store things in the cluster database \(name) on "), "\(message)")
            #expect(!message.description.contains("PSQLError"), "\(message)")
            #expect(!message.description.contains("s3cret-pw") && !message.description.contains("\n"), "\(message)")
        }
        try server.start()
        await database.close()
    }
}
