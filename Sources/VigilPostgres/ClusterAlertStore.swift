import Foundation
import Logging
import PostgresNIO
import Synchronization
import VigilStore

/// The fleet's alert store: ``AlertProducer`` and ``AlertDeliveryStore`` over the cluster tables
/// `alerts`, `sink_cursors` and `dead_letters`.
///
/// Producers insert with ``ClusterAlertTable/insert(_:into:logger:)``, which draws delivery positions
/// under an advisory lock held until commit, so positions follow commit order (the invariant of
/// ``AlertDeliveryStore``) with any number of nodes inserting at once. Sinks wait for commits on
/// `LISTEN vigil_alerts`; while that connection is down (the database restarts) the wait's timeout
/// is the poll. Every operation fails after ``ClusterDatabase/answerLimit`` without an answer (the
/// pool would otherwise wait for a minute while the database is down), so a sink counts failures.
///
/// Unlike the SQLite queue, an alert every sink acknowledged is kept until its retention
/// (``expire(under:now:)``): the table is also the fleet's alert history (`vigil alerts`), and an
/// alert a node ships a second time (at-least-once shipping) is recognised by its id only while it
/// is still there.
public final class ClusterAlertStore: Sendable {
    public let database: ClusterDatabase
    public let canDeliver: Bool
    private let logger: Logger
    private let commits = CommitSignal()
    private let counts = Mutex(QueueStatus())
    private let listener: Mutex<Task<Void, Never>?> = Mutex(nil)

    /// A store on `database`; `deliver` for the one process whose sinks deliver (registering sinks,
    /// acknowledging, dead-lettering). Starts listening for commits at once.
    public init(database: ClusterDatabase, deliver: Bool, logger: Logger = Logger(label: "vigil.cluster.alerts")) {
        self.database = database
        canDeliver = deliver
        self.logger = logger
        listener.withLock { $0 = Task { [commits] in await Self.listen(database, commits: commits, logger: logger) } }
    }

    deinit {
        close()
    }

    /// Stops listening for commits. The database stays open: its owner closes it.
    public func close() {
        listener.withLock { $0?.cancel() }
    }

    /// Holds one connection on `LISTEN vigil_alerts` and signals every notification; after a lost
    /// connection it listens again (a second later) and signals once, for commits it may have missed.
    private static func listen(_ database: ClusterDatabase, commits: CommitSignal, logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { connection in
                    try await connection.listen(on: ClusterAlertTable.channel) { notifications in
                        commits.signal()
                        for try await _ in notifications { commits.signal() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("cluster alerts: listening for commits failed (\(ClusterError(doing: "listen", error))); retrying")
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Runs `work` on the pool, failing after `limit` (``ClusterDatabase/answerLimit``) instead of
    /// waiting as long as the pool cannot connect: a sink then counts a failure and retries.
    private func query<T: Sendable>(_ doing: String, limit: Duration = ClusterDatabase.answerLimit,
                                    _ work: @escaping @Sendable (PostgresClient) async throws -> T) async throws(QueueError) -> T {
        let client = database.client
        do {
            return try await ClusterDatabase.bounded(limit, doing: "\(doing) \(database.url)") { try await work(client) }
        } catch {
            throw QueueError(.database, error.description)
        }
    }

    private func requireDelivery() throws(QueueError) {
        guard canDeliver else { throw QueueError(.notAllowed, "the cluster's alerts were not opened for delivering") }
    }

    /// Every dead letter, oldest first (`vigil alerts dead`).
    public func deadLetters() async throws(QueueError) -> [DeadLetter] {
        try await query("cannot read the dead letters of") { client in
            var letters: [DeadLetter] = []
            let rows = try await client.query("""
                SELECT sink, failures, reason, dead_at, body::text FROM dead_letters ORDER BY dead_at, alert_id
                """)
            for try await (sink, failures, reason, deadAt, body) in rows.decode((String, Int32, String, Date, String).self) {
                letters.append(DeadLetter(sink: sink, failures: Int(failures), reason: reason, deadAt: deadAt,
                                          line: Self.line(body)))
            }
            return letters
        }
    }

    /// The stored jsonb as the alert's own JSON line (jsonb keeps neither key order nor spacing).
    private static func line(_ body: String) -> String {
        (try? Alert(jsonLine: body).jsonLine()) ?? body
    }
}

extension ClusterAlertStore: AlertProducer {
    /// Commits `alert` into the cluster table (once by id) before returning.
    @discardableResult
    public func enqueue(_ alert: Alert) async throws(QueueError) -> EnqueueOutcome {
        if let problem = alert.problem { throw QueueError(.invalidAlert, problem) }
        let database = database, logger = logger
        do {
            _ = try await ClusterDatabase.bounded(doing: "cannot store an alert in the cluster \(database.url)") {
                try await ClusterAlertTable.insert([alert], into: database, logger: logger)
            }
        } catch {
            throw QueueError(.database, error.description)
        }
        counts.withLock {
            $0.committed += 1
            $0.lastCommit = Date()
        }
        commits.signal()
        return .enqueued
    }

    /// The same from a thread of its own: blocks it until the insert returns.
    @discardableResult
    public func enqueue(_ alert: Alert) throws(QueueError) -> EnqueueOutcome {
        let result = Mutex<Result<EnqueueOutcome, QueueError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let outcome: Result<EnqueueOutcome, QueueError>
            do throws(QueueError) {
                outcome = .success(try await self.enqueue(alert))
            } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }

    /// Every enqueue commits before it returns: nothing is ever held.
    public func flush(timeout: TimeInterval) async -> Bool { true }

    public func status() -> QueueStatus { counts.withLock { $0 } }
}

extension ClusterAlertStore: AlertDeliveryStore {
    /// The database (never its password).
    public var location: String { "\(database.url)" }

    /// A new sink starts where the slowest existing sink is (so adding a webhook does not replay the
    /// fleet's whole history), or at the oldest alert kept when there is no sink yet.
    public func registerSinks(_ names: [String]) async throws(QueueError) -> [String: Int64] {
        try requireDelivery()
        let logger = logger
        return try await query("cannot register sinks in") { client in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("LOCK TABLE sink_cursors IN EXCLUSIVE MODE", logger: logger)
                try await connection.query("""
                    INSERT INTO sink_cursors (sink, position)
                    SELECT name, (SELECT COALESCE(MIN(position), 0) FROM sink_cursors) FROM unnest(\(names)::text[]) AS name
                    ON CONFLICT (sink) DO NOTHING
                    """, logger: logger)
                try await connection.query("DELETE FROM sink_cursors WHERE NOT (sink = ANY(\(names)::text[]))", logger: logger)
                var positions: [String: Int64] = [:]
                for try await (sink, position) in try await connection.query("SELECT sink, position FROM sink_cursors",
                                                                             logger: logger).decode((String, Int64).self) {
                    positions[sink] = position
                }
                return positions
            }
        }
    }

    public func alerts(after position: Int64, limit: Int) async throws(QueueError) -> [QueuedAlert] {
        try await query("cannot read alerts from") { client in
            var alerts: [QueuedAlert] = []
            let rows = try await client.query("""
                SELECT position, id, camera_id, kind, body::text FROM alerts
                WHERE position > \(position) ORDER BY position LIMIT \(limit)
                """)
            for try await (position, id, camera, kind, body) in rows.decode((Int64, String, String, String, String).self) {
                alerts.append(QueuedAlert(sequence: position, id: id, camera: camera, kind: AlertKind(rawValue: kind),
                                          line: Self.line(body)))
            }
            return alerts
        }
    }

    public func acknowledge(sink: String, through position: Int64) async throws(QueueError) {
        try requireDelivery()
        _ = try await query("cannot acknowledge alerts in") { client in
            try await client.query("UPDATE sink_cursors SET position = GREATEST(position, \(position)) WHERE sink = \(sink)")
        }
    }

    public func deadLetter(_ alert: QueuedAlert, sink: String, failures: Int, reason: String) async throws(QueueError) {
        try requireDelivery()
        let logger = logger
        try await query("cannot record a dead letter in") { client in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("""
                    INSERT INTO dead_letters (alert_id, sink, failures, reason, body)
                    VALUES (\(alert.id), \(sink), \(Int32(clamping: failures)), \(reason), \(alert.line)::jsonb)
                    ON CONFLICT (alert_id, sink) DO UPDATE
                    SET failures = EXCLUDED.failures, reason = EXCLUDED.reason, dead_at = now()
                    """, logger: logger)
                try await connection.query("""
                    UPDATE sink_cursors SET position = GREATEST(position, \(alert.sequence)) WHERE sink = \(sink)
                    """, logger: logger)
            }
        }
    }

    public func backlog() async throws(QueueError) -> [String: Int] {
        try await query("cannot count alerts in") { client in
            var backlog: [String: Int] = [:]
            let rows = try await client.query("""
                SELECT sink, (SELECT count(*) FROM alerts WHERE alerts.position > sink_cursors.position) FROM sink_cursors
                """)
            for try await (sink, pending) in rows.decode((String, Int64).self) { backlog[sink] = Int(pending) }
            return backlog
        }
    }

    /// Commits this process made, and notifications of other nodes' commits.
    public var commitCount: UInt64 { commits.count }

    public func waitForCommit(after count: UInt64, timeout: Duration) async {
        await commits.wait(after: count, timeout: timeout)
    }

    /// Deletes the alerts and dead letters past their camera's retention whose event is not held.
    public func expire(under policy: RetentionPolicy, now: Date) async throws(QueueError) -> [Deletion] {
        let shortest = min(policy.fallback, Double(policy.days.values.min() ?? Int.max) * 86_400)
        let latestCutoff = now.addingTimeInterval(-shortest)
        let logger = logger
        // A retention pass deletes one row at a time, in one transaction: it may take longer.
        return try await query("cannot expire alerts in", limit: .seconds(300)) { client in
            try await client.withTransaction(logger: logger) { connection in
                var deletions: [Deletion] = []
                func expired(_ body: String) -> (alert: Alert, line: String, reason: String)? {
                    guard let alert = try? Alert(jsonLine: body), !policy.isHeld(alert.event) else { return nil }
                    let limit = policy.limit(camera: alert.camera, now: now)
                    return alert.time < limit.cutoff ? (alert, alert.jsonLine(), limit.reason) : nil
                }
                func record(_ found: (alert: Alert, line: String, reason: String), _ table: String) {
                    deletions.append(Deletion(kind: "alert", camera: found.alert.camera, event: found.alert.event,
                                              alert: found.alert.id, file: "cluster \(table)",
                                              sha256: AlertChain.hash(found.line.utf8), reason: found.reason, time: now))
                }
                var alerts: [(String, String)] = []
                for try await row in try await connection.query("""
                    SELECT id, body::text FROM alerts WHERE time < \(latestCutoff)
                    """, logger: logger).decode((String, String).self) { alerts.append(row) }
                for (id, body) in alerts {
                    guard let found = expired(body) else { continue }
                    try await connection.query("DELETE FROM alerts WHERE id = \(id)", logger: logger)
                    record(found, "alerts")
                }
                var letters: [(String, String, String)] = []
                for try await row in try await connection.query("SELECT alert_id, sink, body::text FROM dead_letters",
                                                                logger: logger).decode((String, String, String).self) {
                    letters.append(row)
                }
                for (id, sink, body) in letters {
                    guard let found = expired(body) else { continue }
                    try await connection.query("DELETE FROM dead_letters WHERE alert_id = \(id) AND sink = \(sink)", logger: logger)
                    record(found, "dead_letters")
                }
                return deletions
            }
        }
    }
}
