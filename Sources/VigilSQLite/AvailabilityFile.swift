import Foundation
import GRDB
import VigilStore

/// `<state dir>/availability.sqlite`: the SQLite ``AvailabilityStore``, one row per camera and UTC
/// day. A file of its own, so that the registry and the queue keep their schemas and locks.
public final class AvailabilityFile: AvailabilityStore {
    public static let fileName = "availability.sqlite"

    private let pool: DatabasePool
    private let path: String

    /// Opens (creating when needed) the file in `directory`, which must exist.
    public init(directory: StateDirectory) throws(AvailabilityStoreError) {
        let url = directory.file(Self.fileName)
        path = url.path
        do {
            pool = try SQLiteFile.openPool(at: url, label: "availability")
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1: camera days") { db in
                try db.execute(sql: """
                    CREATE TABLE cameraDay (
                        camera TEXT NOT NULL, day TEXT NOT NULL,
                        watchedSeconds REAL NOT NULL CHECK (watchedSeconds >= 0),
                        blindSeconds REAL NOT NULL CHECK (blindSeconds >= 0),
                        PRIMARY KEY (camera, day))
                    """)
            }
            try migrator.migrate(pool)
        } catch {
            throw AvailabilityStoreError("cannot open availability file \(url.path): \(error)")
        }
    }

    public func add(_ figures: [CameraDayFigures]) async throws(AvailabilityStoreError) {
        guard !figures.isEmpty else { return }
        try await run("write") { [pool] in
            try await pool.write { db in
                for day in figures {
                    try db.execute(sql: """
                        INSERT INTO cameraDay (camera, day, watchedSeconds, blindSeconds) VALUES (?, ?, ?, ?)
                        ON CONFLICT (camera, day) DO UPDATE SET watchedSeconds = watchedSeconds + excluded.watchedSeconds,
                                                                blindSeconds = blindSeconds + excluded.blindSeconds
                        """, arguments: [day.camera, day.day, max(0, day.watchedSeconds), max(0, day.blindSeconds)])
                }
            }
        }
    }

    public func figures(since day: String) async throws(AvailabilityStoreError) -> [CameraDayFigures] {
        try await run("read") { [pool] in
            try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM cameraDay WHERE day >= ? ORDER BY camera, day", arguments: [day])
                    .map { CameraDayFigures(camera: $0["camera"], day: $0["day"], watchedSeconds: $0["watchedSeconds"],
                                            blindSeconds: $0["blindSeconds"]) }
            }
        }
    }

    @discardableResult
    public func prune(before day: String) async throws(AvailabilityStoreError) -> Int {
        try await run("prune") { [pool] in
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM cameraDay WHERE day < ?", arguments: [day])
                return db.changesCount
            }
        }
    }

    /// Runs `body`, turning its failure into one line naming the file and what was being done.
    private func run<T: Sendable>(_ what: String, _ body: @Sendable () async throws -> T) async throws(AvailabilityStoreError) -> T {
        do {
            return try await body()
        } catch {
            throw AvailabilityStoreError("cannot \(what) availability file \(path): \(error)")
        }
    }
}
