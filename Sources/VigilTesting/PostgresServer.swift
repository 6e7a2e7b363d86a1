import Foundation

/// A private PostgreSQL server for one test: `initdb` into a temporary directory, started with
/// `pg_ctl` on a Unix socket in that directory (and, when asked, on a free TCP port of 127.0.0.1,
/// for tests that put the project's fault proxy in between). Stopped and removed when released.
///
/// Debian's `postgresql` package provides the programs (`make deps` installs it). `initdb` refuses
/// to run as root, so as root the server runs as the `postgres` user (`runuser`), which then owns
/// the directory.
public final class PostgresServer: @unchecked Sendable {
    /// The superuser `initdb` created; it has no password (trust authentication, local only).
    public static let user = "vigil"
    public let directory: TemporaryDirectory
    /// The port: of the TCP listener when there is one, else only the socket's name (`.s.PGSQL.<port>`).
    public let port: Int
    /// Whether the server also listens on 127.0.0.1:``port``.
    public let listensOnTCP: Bool
    private let programs: URL
    private let asPostgresUser: Bool
    private var databaseCount = 0

    /// Creates and starts a server.
    public init(listenOnTCP: Bool = false) throws {
        programs = try Self.findPrograms()
        asPostgresUser = geteuid() == 0
        directory = try TemporaryDirectory()
        listensOnTCP = listenOnTCP
        port = listenOnTCP ? try closedPort() : 5432
        if asPostgresUser {
            try Self.run("/usr/bin/chown", ["postgres:postgres", directory.path])
        }
        try runProgram("initdb", ["-D", dataDirectory, "-A", "trust", "-U", Self.user, "--no-sync", "-E", "UTF8"])
        try start()
    }

    private var dataDirectory: String { directory.path + "/data" }

    /// The database URL (as `cluster.database_url_file` holds it) of `database` over the Unix socket.
    public func socketURL(database: String) -> String {
        "postgresql://\(Self.user)@/\(database)?host=\(directory.path)&port=\(port)"
    }

    /// The database URL of `database` over TCP, through `port` (the server's own or a proxy's).
    public func tcpURL(database: String, port: Int? = nil) -> String {
        "postgresql://\(Self.user)@127.0.0.1:\(port ?? self.port)/\(database)?sslmode=disable"
    }

    /// Creates a new empty database and returns its name (`vigil1`, `vigil2`, ...).
    public func createDatabase() throws -> String {
        databaseCount += 1
        let name = "vigil\(databaseCount)"
        try psql("postgres", "CREATE DATABASE \(name)")
        return name
    }

    /// Runs SQL with `psql` (a test's own check or change, not through the code under test); returns
    /// the rows as unaligned, `|`-separated lines.
    @discardableResult
    public func psql(_ database: String, _ sql: String) throws -> String {
        try runProgram("psql", ["-h", directory.path, "-p", "\(port)", "-U", Self.user, "-d", database,
                                "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-c", sql])
    }

    /// Starts the server (again, after ``stop()``).
    public func start() throws {
        var options = "-k \(directory.path) -p \(port) -c fsync=off -c full_page_writes=off"
        options += listensOnTCP ? " -c listen_addresses=127.0.0.1" : " -c listen_addresses=''"
        try runProgram("pg_ctl", ["-D", dataDirectory, "-o", options, "-l", directory.path + "/server.log", "-w", "start"])
    }

    /// Stops the server at once, as a crash would (clients see their connections drop), keeping every
    /// committed transaction: commits are synchronous (written to the WAL before they return), only
    /// `fsync` is off, which matters only if the machine itself crashes.
    public func stop() throws {
        try runProgram("pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "stop"])
    }

    deinit {
        try? stop()
    }

    @discardableResult
    private func runProgram(_ name: String, _ arguments: [String]) throws -> String {
        let program = programs.appendingPathComponent(name).path
        if asPostgresUser {
            return try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", program] + arguments)
        }
        return try Self.run(program, arguments)
    }

    /// Runs a program to its end, with its output in files. Not with Foundation's `Process`: it
    /// notices a child's exit through a descriptor the child inherits, and `pg_ctl start` leaves a
    /// server running that would inherit it too, so the wait would never end. Here the child gets
    /// stdin, stdout and stderr only.
    @discardableResult
    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let output = try TemporaryFile(), errors = try TemporaryFile()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output.handle.fileDescriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, errors.handle.fileDescriptor, 2)
        // The shell closes every other descriptor the test process left open, then runs the program.
        let closeOthers = #"cd / && for fd in /proc/self/fd/*; do n=${fd##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi; done; exec "$0" "$@""#
        let argv = (["/bin/bash", "-c", closeOthers, executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, argv, environ)
        guard spawned == 0 else { throw SupportError("cannot start \(executable): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw SupportError("waitpid for \(executable) failed: errno \(errno)") }
        }
        guard status == 0 else {
            throw SupportError("\(URL(fileURLWithPath: executable).lastPathComponent) \(arguments.prefix(6).joined(separator: " ")) "
                               + "failed (status \(status)): " + String(decoding: try errors.contents(), as: UTF8.self))
        }
        return String(decoding: try output.contents(), as: UTF8.self)
    }

    /// Debian's server programs: `/usr/lib/postgresql/<newest version>/bin`.
    private static func findPrograms() throws -> URL {
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw SupportError("PostgreSQL is not installed (no /usr/lib/postgresql/<version>); run 'make deps'")
        }
        return root.appendingPathComponent("\(newest)/bin")
    }
}

/// A port on 127.0.0.1 where nothing listens (right now: a test binds it or expects connections to it to fail).
public func closedPort() throws -> Int {
    let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socketFD >= 0 else { throw SupportError("socket() failed: errno \(errno)") }
    defer { close(socketFD) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(socketFD, $0, length) == 0 && getsockname(socketFD, $0, &length) == 0
        }
    }
    guard bound else { throw SupportError("cannot bind a port of 127.0.0.1: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}
