import Foundation
import GRDB

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
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        return try DatabasePool(path: url.path, configuration: configuration)
    }
}
