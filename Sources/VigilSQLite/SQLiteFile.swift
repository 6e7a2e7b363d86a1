import Foundation
import GRDB
import VigilStore

/// Opens Vigil's SQLite files the same way everywhere: WAL (a `DatabasePool`), a busy timeout so the
/// CLI and the daemon can use a file at the same time, foreign keys on, and the file created 0600
/// before SQLite touches it (SQLite gives its -wal and -shm files the same mode).
enum SQLiteFile {
    static func openPool(at url: URL, busyTimeout: TimeInterval = 5, synchronous: String = "NORMAL",
                         label: String) throws -> DatabasePool {
        let descriptor = open(url.path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        if descriptor >= 0 { close(descriptor) }
        var configuration = Configuration()
        configuration.label = label
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        let pool = try DatabasePool(path: url.path, configuration: configuration)
        // Only the writer's setting matters. GRDB sets NORMAL on it when it enables WAL, after any
        // `prepareDatabase`, so it is set here, once the pool is open.
        try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        return pool
    }
}
