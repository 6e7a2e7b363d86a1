import Foundation
import VigilTesting

/// What a fleet test starts from: a private PostgreSQL server with one database, and the URL file a
/// node's `cluster: database_url_file` names (in `files`, beside the nodes' configs).
struct FleetDatabase {
    let postgres: PostgresServer
    let name: String
    let files: TemporaryDirectory
    let urlFile: String

    /// `url` rewrites the database's socket URL before it is written (to add a password, say).
    init(url: (String) -> String = { $0 }) throws {
        postgres = try PostgresServer()
        name = try postgres.createDatabase()
        files = try TemporaryDirectory()
        urlFile = files.url.appendingPathComponent("database-url").path
        try url(postgres.socketURL(database: name)).write(toFile: urlFile, atomically: true, encoding: .utf8)
    }
}
