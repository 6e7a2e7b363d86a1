import GRDB
import VigilStore

extension QueueError {
    /// A database failure on `path`, described without SQL.
    init(database error: any Error, path: String) {
        self.init(.database, "alert queue \(path): \(Self.reason(error))")
    }

    /// SQLite's short reason ("database or disk is full"), without the statement that failed.
    static func reason(_ error: any Error) -> String {
        guard let error = error as? DatabaseError else { return "\(error)" }
        switch error.resultCode {
        case .SQLITE_FULL: return "database or disk is full"
        case .SQLITE_BUSY, .SQLITE_LOCKED: return "the database is locked by another process"
        default: return error.message ?? "SQLite error \(error.resultCode.rawValue)"
        }
    }
}
