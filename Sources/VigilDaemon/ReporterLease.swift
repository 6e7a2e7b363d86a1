import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import VigilPostgres
import VigilReporter
import VigilStore

/// Fleet mode: the fleet's reporter sinks (alert log, webhook, exec) over the cluster's alerts
/// (``ClusterAlertStore``), run by exactly one node at a time.
///
/// Every node runs this service; the one whose connection holds the session advisory lock
/// ``lockKey`` delivers, the others try again every `retryInterval`. The lock belongs to that one
/// connection: when the node stops or dies, PostgreSQL releases it with the session at once, and
/// another node takes over from the sinks' positions in `sink_cursors` (at least once, as on one
/// server). The holder checks its connection every `checkInterval` and stops delivering when a check
/// fails or gets no answer within two intervals. A holder that goes silent without its connection
/// closing (its machine lost power, the network is cut) is ended by the server: the session runs with
/// `idle_session_timeout` at five intervals, so the lock is free by then, after the holder stopped.
public final class ReporterLease: Service, Sendable {
    /// The advisory lock key of the fleet's reporter (`pg_locks` shows its holder).
    public static let lockKey: Int64 = 0x76_69_67_69_6C_02
    private let open: @Sendable () async throws -> ClusterDatabase
    private let configuration: Reporter.Configuration
    private let retryInterval: Duration
    private let checkInterval: Duration
    private let logger: Logger
    private let delivering = Mutex(false)

    /// `configuration` is the fleet's sinks; `open` opens the cluster database (once; again after a failure).
    public init(open: @escaping @Sendable () async throws -> ClusterDatabase, configuration: Reporter.Configuration,
                retryInterval: Duration = .seconds(2), checkInterval: Duration = .seconds(1), logger: Logger) {
        self.open = open
        self.configuration = configuration
        self.retryInterval = retryInterval
        self.checkInterval = checkInterval
        self.logger = logger
    }

    /// The fleet's sinks, made from a node's: its webhook and command, and an alert log beside the
    /// node's own (`fleet-alerts.jsonl`), written by whichever node holds the lease.
    public static func fleetSinks(of node: Reporter.Configuration) -> Reporter.Configuration {
        var fleet = node
        fleet.alertLog = node.alertLog.deletingLastPathComponent().appendingPathComponent("fleet-" + node.alertLog.lastPathComponent)
        fleet.forwarders = []
        return fleet
    }

    /// Whether this node delivers the fleet's alerts now.
    public var isDelivering: Bool { delivering.withLock { $0 } }

    /// Tries for the lock and delivers while holding it, until the group shuts down or the task is cancelled.
    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            var database: ClusterDatabase?
            while !Task.isCancelled {
                do {
                    if database == nil { database = try await self.open() }
                    try await self.deliverWhileHolding(database!)
                } catch {
                    if Task.isCancelled { break }
                    self.logger.warning("fleet reporter: \(error); trying again in \(self.retryInterval)")
                }
                try? await Task.sleep(for: self.retryInterval)
            }
            await database?.close()
        }
    }

    /// Takes the lock on one connection (returns at once when another node holds it), then runs the
    /// reporter until its connection fails or the task is cancelled.
    private func deliverWhileHolding(_ database: ClusterDatabase) async throws {
        let (logger, configuration, checkInterval) = (logger, configuration, checkInterval)
        try await database.client.withConnection { connection in
            let patience = checkInterval * 2
            let locked = try await Self.answer(connection, within: patience) {
                var locked = false
                for try await value in try await connection.query("SELECT pg_try_advisory_lock(\(Self.lockKey))", logger: logger)
                    .decode(Bool.self) {
                    locked = value
                }
                return locked
            }
            guard locked else { return }
            let silence = String(Int(checkInterval * 5 / .milliseconds(1)))
            try await Self.answer(connection, within: patience) {
                for try await _ in try await connection.query("SELECT set_config('idle_session_timeout', \(silence), false)", logger: logger) {}
            }
            let store = ClusterAlertStore(database: database, deliver: true, logger: logger)
            defer { store.close() }
            let reporter = try Reporter(queue: store, configuration: configuration, logger: logger)
            logger.info("fleet reporter: this node delivers the fleet's alerts")
            self.delivering.withLock { $0 = true }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await reporter.run() }
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: checkInterval)
                        try await Self.answer(connection, within: patience) {
                            for try await _ in try await connection.query("SELECT 1", logger: logger) {}
                        }
                    }
                }
                defer {
                    self.delivering.withLock { $0 = false }
                    reporter.stop()
                    group.cancelAll()
                }
                try await group.next()
            }
            logger.info("fleet reporter: this node stopped delivering the fleet's alerts")
            _ = try? await Self.answer(connection, within: patience) {
                for try await _ in try await connection.query(
                    "SELECT pg_advisory_unlock(\(Self.lockKey)), set_config('idle_session_timeout', '0', false)", logger: logger) {}
            }
        }
    }

    /// `work` (queries on `connection`), failing when the connection is closed or no answer came within
    /// `patience`. postgres-nio 1.33 never answers a query written after its connection closed (the
    /// server restarted or ended the session), and a cut-off connection answers nothing: such a query is
    /// never waited for (``ClusterDatabase/bounded(_:doing:_:)``); the connection is closed, so the pool
    /// drops it and the server frees the lock, and the query is left behind.
    @discardableResult
    private static func answer<T: Sendable>(_ connection: PostgresConnection, within patience: Duration,
                                            _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        guard !connection.isClosed else { throw ClusterError(.unreachable, "fleet reporter: the lock's connection is closed") }
        do {
            return try await ClusterDatabase.bounded(patience, doing: "fleet reporter: the lock's connection", work)
        } catch {
            let _: EventLoopFuture<Void> = connection.close()
            throw error
        }
    }
}
