import Foundation
import PostgresNIO

/// A fleet-database operation that failed; `description` is one line for people (never the
/// database URL's password), `code` is for programs. New codes may be added: switch with a `default`.
public struct ClusterError: Error, CustomStringConvertible, Equatable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String

        /// `cluster.database_url_file` is missing, unreadable or not a usable URL.
        public static let badURL = Code(description: "bad database URL")
        /// The server cannot be reached or refused the connection (down, wrong host, bad password).
        public static let unreachable = Code(description: "unreachable")
        /// The server answered with an error, or gave back what Vigil cannot use.
        public static let database = Code(description: "database")
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// `error` from postgres-nio (or anything thrown around it) as one line: "`doing`: reason".
    /// A failed transaction is described by what failed inside it (its BEGIN, its body, its COMMIT,
    /// else its ROLLBACK). PSQLError's own description hides the server's message; this takes it from
    /// the server info. A server that ends the session (shutting down, the session timed out: SQLSTATE
    /// class 57P) is `unreachable`, like one that cannot be connected to.
    public init(doing: String, _ error: any Error) {
        if let transaction = error as? PostgresTransactionError,
           let cause = transaction.beginError ?? transaction.closureError ?? transaction.commitError ?? transaction.rollbackError {
            self.init(doing: doing, cause)
            return
        }
        guard let error = error as? PSQLError else {
            self.init(.database, "\(doing): \(error)")
            return
        }
        if error.serverInfo?[.message] == nil, let inner = error.underlying as? PSQLError, inner.serverInfo?[.message] != nil {
            // The server said why before it closed the connection (a FATAL error): that is the reason.
            self.init(doing: doing, inner)
            return
        }
        if let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            let unreachable = error.serverInfo?[.sqlState].map {
                $0.hasPrefix("28") || $0.hasPrefix("08") || $0.hasPrefix("57P") || $0 == "3D000"
            } ?? false
            self.init(unreachable ? .unreachable : .database, "\(doing): \(message)\(state)")
            return
        }
        let reason: String
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown:
            // (A PSQLError's own description is a placeholder; its code says what happened.)
            let underlying = error.underlying.map { ": \(($0 as? PSQLError).map { "\($0.code)" } ?? String(describing: $0))" } ?? ""
            reason = "the database server cannot be reached (\(error.code)\(underlying)); is PostgreSQL running, and is the URL's host right?"
            self.init(.unreachable, "\(doing): \(reason)")
        case .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError:
            self.init(.unreachable, "\(doing): the server refused the login (\(error.code)); check the URL's user and password")
        default:
            self.init(.database, "\(doing): \(error.code)")
        }
    }
}
