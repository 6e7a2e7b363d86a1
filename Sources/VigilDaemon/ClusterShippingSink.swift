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
/// each camera's alerts keep their order in the table.
///
/// Opening the database and each insert fail after ``attemptLimit`` without an answer, so an
/// outage shows as the sink's failures (`vigil status`, `/readyz`) while the alerts wait in the
/// local queue. After a failure the sink closes its connection pool and opens a new one at the next
/// attempt: a pool that lost its server reconnects with a backoff growing to a minute, a new one
/// connects as soon as the server answers. So a node also starts while the database is down.
public final class ClusterShippingSink: AlertForwarder, Sendable {
    public let name = "cluster"
    public let batchLimit = 200
    /// Retries forever, at most 5 s apart, so that shipping resumes soon after the database returns.
    public let retry = RetryPolicy(initialBackoff: 0.5, maxBackoff: 5, deadLetterAfter: nil)
    /// How long one attempt may take: opening the database and inserting a batch of ``batchLimit``.
    public let attemptLimit: Duration
    /// Opened at the first attempt, dropped after a failure (``SharedClusterDatabase/reopen()``).
    private let database: SharedClusterDatabase
    private let logger: Logger

    /// What the sink's errors call the database (never its password).
    private let target: String

    /// Ships into the database `cluster.database_url_file` names.
    public convenience init(urlFile: String, logger: Logger) {
        let target = (try? DatabaseURL(file: urlFile)).map { "the cluster \($0)" } ?? "the cluster database of \(urlFile)"
        self.init(open: { try await ClusterDatabase.open(urlFile: urlFile, logger: logger) }, target: target, logger: logger)
    }

    /// Ships into the database `open` opens (tests pass a URL of their own server); `target` names it in errors.
    public init(open: @escaping @Sendable () async throws -> ClusterDatabase, target: String = "the cluster database",
                attemptLimit: Duration = ClusterDatabase.answerLimit, logger: Logger) {
        database = SharedClusterDatabase { () async throws(ClusterError) in
            do {
                return try await open()
            } catch let error as ClusterError {
                throw error
            } catch {
                throw ClusterError(doing: "cannot connect to \(target)", error)
            }
        }
        self.target = target
        self.attemptLimit = attemptLimit
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
        let (logger, batch, shared) = (logger, parsed, database)
        do {
            // After a failure the pool is dropped; an open that outlived the limit is closed when it ends.
            let database = try await ClusterDatabase.bounded(attemptLimit, doing: "cannot connect to \(target)") {
                try await shared.database()
            }
            _ = try await ClusterDatabase.bounded(attemptLimit, doing: "cannot ship \(parsed.count) alerts into \(target)") {
                try await ClusterAlertTable.insert(batch, into: database, logger: logger)
            }
        } catch {
            shared.reopen()
            throw error
        }
    }

    /// Closes the database connections (the daemon does when it stops).
    public func close() async {
        await database.close()
    }
}
