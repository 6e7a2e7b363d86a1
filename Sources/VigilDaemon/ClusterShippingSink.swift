import Foundation
import Logging
import VigilPostgres
import VigilReporter
import VigilStore

/// Fleet mode: the `cluster` sink of a node's local queue, which ships the alerts the node committed
/// locally into the cluster's `alerts` table.
///
/// The local SQLite queue stays the node's durable record: detection and local delivery never wait
/// for the database. This sink reads the queue from its own position like any sink, inserts each
/// batch in one transaction with ``ClusterAlertTable/insert(_:into:logger:)`` (idempotent by alert id)
/// and only then acknowledges it, so a batch shipped but not acknowledged (a crash, a lost answer)
/// is shipped again and stored once: at least once plus idempotent is exactly once in the table.
/// Batches go in local commit order and are retried until they succeed (never dead-lettered), so
/// each camera's alerts keep their order in the table. The database is opened on the first batch,
/// and again after a failure, so a node starts (and keeps its alerts) while the database is down.
public actor ClusterShippingSink: AlertForwarder {
    public nonisolated let name = "cluster"
    public nonisolated let batchLimit = 200
    /// Retries forever, at most 5 s apart, so that shipping resumes soon after the database returns.
    public nonisolated let retry = RetryPolicy(initialBackoff: 0.5, maxBackoff: 5, deadLetterAfter: nil)
    private let open: @Sendable () async throws -> ClusterDatabase
    private let logger: Logger
    private var database: ClusterDatabase?

    /// Ships into the database `cluster.database_url_file` names.
    public init(urlFile: String, logger: Logger) {
        self.init(open: { try await ClusterDatabase.open(urlFile: urlFile, logger: logger) }, logger: logger)
    }

    /// Ships into the database `open` opens (tests pass a URL of their own server).
    public init(open: @escaping @Sendable () async throws -> ClusterDatabase, logger: Logger) {
        self.open = open
        self.logger = logger
    }

    public func forward(_ alerts: [QueuedAlert]) async throws {
        var parsed: [Alert] = []
        for queued in alerts {
            do {
                parsed.append(try Alert(jsonLine: queued.line))
            } catch {
                // Cannot happen for what the queue wrote; one bad row must not stop the shipping.
                logger.error("cluster: alert \(queued.id) in the local queue is not valid JSON; not shipped")
            }
        }
        try await ClusterAlertTable.insert(parsed, into: try await currentDatabase(), logger: logger)
    }

    private func currentDatabase() async throws -> ClusterDatabase {
        if let database { return database }
        let opened = try await open()
        database = opened
        return opened
    }

    /// Closes the database connections.
    public func close() async {
        await database?.close()
        database = nil
    }
}
