import Foundation

/// Where the fleet's PostgreSQL database is, parsed from the one line of `cluster.database_url_file`:
///
/// - `postgresql://USER:PASSWORD@HOST:PORT/DATABASE` (TCP; `postgres://` too; `?sslmode=disable`,
///   `prefer` (the default) or `require`);
/// - `postgresql://USER@/DATABASE?host=/run/postgresql&port=5432` (a Unix socket in that directory).
///
/// ``description`` never shows the password: it is what log lines and errors name.
public struct DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is secured over TCP.
    public enum TLSMode: String, Sendable { case disable, prefer, require }

    public var user: String
    public var password: String?
    public var database: String
    /// A host name or address for TCP, or nil with ``socketDirectory``.
    public var host: String?
    /// The directory holding the server's Unix socket (`.s.PGSQL.<port>`), or nil for TCP.
    public var socketDirectory: String?
    public var port: Int
    public var tls: TLSMode

    /// The Unix socket's path, when the URL names a socket directory.
    public var socketPath: String? { socketDirectory.map { "\($0)/.s.PGSQL.\(port)" } }

    /// `database vigil on HOST:PORT as USER`, without the password.
    public var description: String {
        "database \(database) on \(socketDirectory.map { "\($0) (socket, port \(port))" } ?? "\(host ?? "?"):\(port)") as \(user)"
    }

    /// Why a database URL cannot be used: one line, never the password.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    private static let usage = "use postgresql://USER:PASSWORD@HOST:5432/DATABASE or postgresql://USER@/DATABASE?host=/run/postgresql"

    /// Parses a URL; the error never repeats the URL (it may hold a password).
    public init(parsing text: String) throws(Problem) {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("postgresql://") || text.hasPrefix("postgres://"),
              let components = URLComponents(string: text) else {
            throw Problem(description: "the database URL is not a postgresql:// URL; \(Self.usage)")
        }
        let path = components.path
        guard path.hasPrefix("/"), path.count > 1, !path.dropFirst().contains("/") else {
            throw Problem(description: "the database URL names no database (the path after the host); \(Self.usage)")
        }
        database = String(path.dropFirst())
        guard let user = components.user, !user.isEmpty else {
            throw Problem(description: "the database URL names no user (USER@ before the host); \(Self.usage)")
        }
        self.user = user
        password = components.password
        var port = components.port ?? 5432
        var socketDirectory: String?
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "host":
                guard let value = item.value, value.hasPrefix("/") else {
                    throw Problem(description: "the database URL's host= must be an absolute socket directory")
                }
                socketDirectory = value
            case "port":
                guard let value = item.value.flatMap(Int.init), (1...65_535).contains(value) else {
                    throw Problem(description: "the database URL's port= must be 1...65535")
                }
                port = value
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw Problem(description: "the database URL's sslmode must be disable, prefer or require")
                }
                tls = mode
            default:
                throw Problem(description: "the database URL's parameter '\(item.name)' is not known; use host, port or sslmode")
            }
        }
        guard (1...65_535).contains(port) else {
            throw Problem(description: "the database URL's port must be 1...65535")
        }
        let host = components.host.flatMap { $0.isEmpty ? nil : $0 }
        guard host != nil || socketDirectory != nil else {
            throw Problem(description: "the database URL names no host; \(Self.usage)")
        }
        self.host = socketDirectory == nil ? host : nil
        self.socketDirectory = socketDirectory
        self.port = port
        self.tls = tls
    }

    /// Reads the URL from the first line of `file` (`cluster.database_url_file`).
    public init(file: String) throws(Problem) {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw Problem(description: "cannot read cluster.database_url_file \(file): \((error as NSError).localizedDescription); "
                          + "create it with the database URL on its first line, readable by the vigil user only")
        }
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        do {
            try self.init(parsing: line)
        } catch {
            throw Problem(description: "cluster.database_url_file \(file): \(error.description)")
        }
    }
}
