import Foundation
import GRDB

/// Why the alert queue refused an operation. `description` is one line for people; `code` is for
/// programs. New codes may be added: switch with a `default`.
public struct QueueError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String

        /// The state directory or the database cannot be opened or created.
        public static let cannotOpen = Code(description: "cannot open")
        /// There is no queue in the directory (only for read access, which never creates one).
        public static let notFound = Code(description: "not found")
        /// Another process already produces into, or delivers from, this queue.
        public static let busy = Code(description: "busy")
        /// The queue was opened without the access this operation needs.
        public static let notAllowed = Code(description: "not allowed")
        /// The alert is malformed (see ``Alert/problem``).
        public static let invalidAlert = Code(description: "invalid alert")
        /// ``AlertQueue/close(timeout:)`` was called.
        public static let closed = Code(description: "closed")
        /// SQLite failed (disk full, I/O error, corrupt file...).
        public static let database = Code(description: "database")
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

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
