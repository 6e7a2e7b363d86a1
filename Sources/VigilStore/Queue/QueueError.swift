import Foundation

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
        /// The store was closed (`AlertQueue.close(timeout:)`).
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
}
