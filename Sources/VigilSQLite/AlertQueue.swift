import Foundation
import Synchronization
import GRDB
import VigilStore
import Logging

/// The durable alert queue: `<state dir>/queue.sqlite`, SQLite in WAL mode.
///
/// An alert is *enqueued* when the transaction that stores it commits: from then on it survives a
/// crash of the process (and, with ``QueueOptions/Durability/full``, a power cut) and every sink
/// delivers it at least once. Each sink keeps its own acknowledged position; an alert is deleted
/// once every sink acknowledged it.
///
/// The SQLite implementation of ``AlertProducer`` and ``AlertDeliveryStore``. Producers call
/// ``enqueue(_:)`` from their own threads, or its async twin from async code; a dedicated writer
/// thread commits for all of them, many alerts per transaction, and so assigns the delivery
/// positions in commit order (the invariant ``AlertDeliveryStore`` states). One process at a time
/// may produce (``Access/produce``) and one may deliver (``Access/deliver``); any number may read.
public final class AlertQueue: Sendable {
    /// What a process opens the queue for.
    public struct Access: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// Enqueue alerts. Opening closes the events a dead producer left open (crash closure).
        public static let produce = Access(rawValue: 1)
        /// Deliver alerts to sinks: register sinks, acknowledge, dead-letter (the reporter).
        public static let deliver = Access(rawValue: 2)
        /// Neither: read an existing queue (`vigil alerts dead`); never creates one.
        public static let read: Access = []
    }

    public let directory: StateDirectory
    /// `<state dir>/queue.sqlite`.
    public let path: String
    public let access: Access
    /// The `motion_ended` alerts enqueued at open for the events a dead producer left open.
    public let interruptedEvents: [Alert]

    private let pool: DatabasePool
    private let options: QueueOptions
    private let writer: QueueWriter?
    private let commits = CommitSignal()
    /// Held until ``close(timeout:)``.
    private let locks: Mutex<[FileLock]>

    /// Opens (and with `produce` or `deliver` access creates) the queue in `directory`, which is
    /// created 0700 when missing; the database file is created 0600.
    public init(directory: StateDirectory, access: Access, options: QueueOptions = QueueOptions(),
                logger: Logger = Logger(label: "vigil.queue")) throws(QueueError) {
        self.directory = directory
        self.access = access
        self.options = options
        path = directory.file("queue.sqlite").path
        if access.isEmpty {
            guard FileManager.default.fileExists(atPath: path) else {
                throw QueueError(.notFound, "no alert queue in \(directory.path) (\(path) does not exist); "
                                 + "pass --state-dir DIR")
            }
        } else {
            do {
                try directory.prepare()
            } catch {
                throw QueueError(.cannotOpen, error.description)
            }
        }
        var locks: [FileLock] = []
        if access.contains(.produce) {
            locks.append(try FileLock(path: directory.file("queue.produce.lock").path,
                                      owner: "another vigil process producing alerts into \(directory.path)"))
        }
        if access.contains(.deliver) {
            locks.append(try FileLock(path: directory.file("queue.deliver.lock").path,
                                      owner: "another reporter (vigil run or vigil report) on \(directory.path)"))
        }
        self.locks = Mutex(locks)
        pool = try Self.openDatabase(path: path, options: options)
        let store = QueueStore(options: options, logger: logger)
        if access.contains(.produce) {
            // Crash closure: whoever holds the produce lock is the only producer, so every event
            // still open was left by a process that died.
            let endings: [Alert]
            do {
                endings = try pool.read { try store.openEvents(in: $0) }.map { $0.interruptedEnd() }
            } catch {
                throw QueueError(database: error, path: path)
            }
            let writer = QueueWriter(pool: pool, store: store, path: path, commits: commits, logger: logger)
            writer.start()
            if !endings.isEmpty {
                logger.warning("alert queue: closing \(endings.count) motion events left open by a process that stopped uncleanly (motion_ended with interrupted: true)")
                // Committed like any alert: on a full disk they wait in memory with the rest.
                writer.hold(endings)
                _ = writer.flush(timeout: options.enqueueTimeout)
            }
            interruptedEvents = endings
            self.writer = writer
        } else {
            interruptedEvents = []
            writer = nil
        }
    }

    deinit {
        close(timeout: 1)
    }

    private static func openDatabase(path: String, options: QueueOptions) throws(QueueError) -> DatabasePool {
        do {
            let pool = try SQLiteFile.openPool(at: URL(fileURLWithPath: path), busyTimeout: options.busyTimeout,
                                               synchronous: options.durability == .full ? "FULL" : "NORMAL",
                                               label: "queue")
            try migrate(pool)
            return pool
        } catch {
            throw QueueError(.cannotOpen, "cannot open alert queue \(path): \(QueueError.reason(error))")
        }
    }

    /// Two processes opening a new queue at once may race to create the tables: the loser retries.
    private static func migrate(_ pool: DatabasePool) throws {
        for attempt in 1... {
            do {
                return try QueueStore.migrator.migrate(pool)
            } catch where attempt < 3 {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    // MARK: Producing

    /// Hands an alert to the queue and waits, at most ``QueueOptions/enqueueTimeout``, for its commit.
    /// Thread-safe; meant to be called synchronously from a camera's own thread.
    ///
    /// Throws only for a malformed alert, a queue opened without ``Access/produce`` access, or a
    /// closed queue: a full disk is not an error here but a ``EnqueueOutcome/delayed`` outcome and a
    /// ``QueueStatus/problem``.
    @discardableResult
    public func enqueue(_ alert: Alert) throws(QueueError) -> EnqueueOutcome {
        try writer(for: alert).enqueue(alert, timeout: options.enqueueTimeout)
    }

    /// Hands an alert to the queue and suspends, without blocking a thread, until its commit or
    /// ``QueueOptions/enqueueTimeout``: for async code (the supervisor, the bridge's services).
    @discardableResult
    public func enqueue(_ alert: Alert) async throws(QueueError) -> EnqueueOutcome {
        try await writer(for: alert).enqueue(alert, timeout: options.enqueueTimeout)
    }

    private func writer(for alert: Alert) throws(QueueError) -> QueueWriter {
        guard let writer else {
            throw QueueError(.notAllowed, "the alert queue was not opened for producing")
        }
        if let problem = alert.problem { throw QueueError(.invalidAlert, problem) }
        guard !closed.isClosed else { throw QueueError(.closed, "the alert queue is closed") }
        return writer
    }

    /// Waits until every alert enqueued so far is committed; false if `timeout` (seconds) passed first.
    public func flush(timeout: TimeInterval) -> Bool {
        writer?.flush(timeout: timeout) ?? true
    }

    /// The same from async code: the wait blocks a dispatch thread, not the cooperative pool.
    public func flush(timeout: TimeInterval) async -> Bool {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: self.flush(timeout: timeout)) }
        }
    }

    /// Commits what is still held (for at most `timeout` seconds), stops the writer thread and
    /// releases the queue's locks, so that another process (or another `AlertQueue`) can produce or
    /// deliver. Returns how many alerts could not be committed and are lost.
    @discardableResult
    public func close(timeout: TimeInterval = 5) -> Int {
        guard closed.close() else { return 0 }
        let lost = writer?.stop(timeout: timeout) ?? 0
        locks.withLock { $0.removeAll() }
        return lost
    }

    private let closed = CloseFlag()

    /// The producer's health: what is held in memory, what was coalesced, why writes fail.
    public func status() -> QueueStatus {
        writer?.currentStatus() ?? QueueStatus()
    }

    /// Lowers (or with nil restores) the database's maximum size in pages, as a full disk would:
    /// for tests and drills of the full-disk behaviour (`PRAGMA max_page_count`).
    public func simulateDiskLimit(pages: Int?) throws(QueueError) {
        do {
            try pool.barrierWriteWithoutTransaction {
                try $0.execute(sql: "PRAGMA max_page_count = \(pages ?? 0xFFFF_FFFE)")
            }
        } catch {
            throw QueueError(database: error, path: path)
        }
    }

    // MARK: Delivering

    /// How many transactions this process has committed to the queue: read it *before* looking for
    /// alerts, then wait with ``waitForCommit(after:timeout:)``, so that no commit goes unnoticed.
    public var commitCount: UInt64 { commits.count }

    /// Returns as soon as this process commits alerts after ``commitCount`` was `count` (at once if it
    /// already did), after `timeout`, or when the calling task is cancelled. Commits of another process
    /// (a `vigil report` delivering what `vigil run` produces) wake nobody: only `timeout` ends the wait.
    public func waitForCommit(after count: UInt64, timeout: Duration) async {
        await commits.wait(after: count, timeout: timeout)
    }

    /// Alerts after position `sequence`, oldest first. Any access may read.
    public func alerts(after sequence: Int64, limit: Int) async throws(QueueError) -> [QueuedAlert] {
        try await database { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT seq, id, camera, kind, body FROM alert WHERE seq > ? ORDER BY seq LIMIT ?"),
                             arguments: [sequence, limit])
                .map { QueuedAlert(sequence: $0["seq"], id: $0["id"], camera: $0["camera"],
                                   kind: AlertKind(rawValue: $0["kind"]), line: $0["body"]) }
        }
    }

    /// Makes `names` the queue's sinks: a new sink starts at the oldest alert still queued; a sink
    /// not named any more is forgotten, so it no longer holds alerts back. Returns each sink's position.
    public func registerSinks(_ names: [String]) async throws(QueueError) -> [String: Int64] {
        try requireDelivery()
        return try await database(writing: true) { db in
            for name in names {
                try db.execute(sql: "INSERT OR IGNORE INTO sink (name, acked) VALUES (?, 0)", arguments: [name])
            }
            let known = try String.fetchAll(db, sql: "SELECT name FROM sink")
            for name in known where !names.contains(name) {
                try db.execute(sql: "DELETE FROM sink WHERE name = ?", arguments: [name])
            }
            try Self.deleteDelivered(db)
            return try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT name, acked FROM sink").map {
                row -> (String, Int64) in (row["name"], row["acked"])
            })
        }
    }

    /// Records that `sink` delivered every alert up to and including position `sequence`.
    public func acknowledge(sink: String, through sequence: Int64) async throws(QueueError) {
        try requireDelivery()
        try await database(writing: true) { db in
            try Self.acknowledge(sink: sink, through: sequence, db)
        }
    }

    /// Moves an alert `sink` gave up on to the dead letters (`vigil alerts dead`) and acknowledges it.
    public func deadLetter(_ alert: QueuedAlert, sink: String, failures: Int, reason: String) async throws(QueueError) {
        try requireDelivery()
        try await database(writing: true) { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO dead_letter (sink, id, failures, reason, dead_at, body) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [sink, alert.id, failures, reason, AlertTime.format(Date()), alert.line])
            try Self.acknowledge(sink: sink, through: alert.sequence, db)
        }
    }

    /// Alerts not yet delivered, per sink.
    public func backlog() async throws(QueueError) -> [String: Int] {
        try await database { db in
            try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: """
                SELECT name, (SELECT COUNT(*) FROM alert WHERE seq > sink.acked) AS pending FROM sink
                """).map { row -> (String, Int) in (row["name"], row["pending"]) })
        }
    }

    /// Every dead letter, oldest first.
    public func deadLetters() throws(QueueError) -> [DeadLetter] {
        do {
            return try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT sink, failures, reason, dead_at, body FROM dead_letter ORDER BY dead_at, id")
                    .map { DeadLetter(sink: $0["sink"], failures: $0["failures"], reason: $0["reason"],
                                      deadAt: AlertTime.parse($0["dead_at"]) ?? Date(timeIntervalSince1970: 0),
                                      line: $0["body"]) }
            }
        } catch {
            throw QueueError(database: error, path: path)
        }
    }

    // MARK: Retention

    /// Deletes the alerts kept in the queue database (undelivered ones and dead letters) that are
    /// past their camera's retention, and the undelivered motion alerts older than the queue's
    /// ``QueueOptions/maxAge`` (a sink that has not kept up for that long), unless their event is
    /// held; returns one ``Deletion`` for each, for the deletion log. Health alerts wait for their
    /// sinks however old they get, within the retention. Needs produce or deliver access.
    public func expire(under policy: RetentionPolicy, now: Date = Date()) async throws(QueueError) -> [Deletion] {
        guard !access.isEmpty else { throw QueueError(.notAllowed, "the alert queue was opened only for reading") }
        let maxAge = options.maxAge
        let shortest = min(policy.fallback, Double(policy.days.values.min() ?? Int.max) * 86_400, maxAge)
        let latestCutoff = AlertTime.format(now.addingTimeInterval(-shortest))
        let undeliveredCutoff = now.addingTimeInterval(-maxAge)
        return try await database(writing: true) { db in
            var deletions: [Deletion] = []
            func expired(_ line: String, undelivered: Bool = false) -> (alert: Alert, reason: String)? {
                guard let alert = try? Alert(jsonLine: line), !policy.isHeld(alert.event) else { return nil }
                let limit = policy.limit(camera: alert.camera, now: now)
                if alert.time < limit.cutoff { return (alert, limit.reason) }
                guard undelivered, alert.kind.isMotion, alert.time < undeliveredCutoff else { return nil }
                return (alert, "undelivered for \(QueueOptions.describe(maxAge)) (a sink is not keeping up)")
            }
            func record(_ alert: Alert, _ line: String, _ reason: String) {
                deletions.append(Deletion(kind: "alert", camera: alert.camera, event: alert.event, alert: alert.id,
                                          file: "queue.sqlite", sha256: AlertChain.hash(line.utf8), reason: reason,
                                          time: now))
            }
            for row in try Row.fetchAll(db, sql: "SELECT seq, body FROM alert WHERE time < ?", arguments: [latestCutoff]) {
                let line: String = row["body"], sequence: Int64 = row["seq"]
                guard let found = expired(line, undelivered: true) else { continue }
                try db.execute(sql: "DELETE FROM alert WHERE seq = ?", arguments: [sequence])
                record(found.alert, line, found.reason)
            }
            for row in try Row.fetchAll(db, sql: "SELECT sink, id, body FROM dead_letter") {
                let line: String = row["body"], sink: String = row["sink"], id: String = row["id"]
                guard let found = expired(line) else { continue }
                try db.execute(sql: "DELETE FROM dead_letter WHERE sink = ? AND id = ?", arguments: [sink, id])
                record(found.alert, line, found.reason)
            }
            return deletions
        }
    }

    private static func acknowledge(sink: String, through sequence: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE sink SET acked = MAX(acked, ?) WHERE name = ?")
            .execute(arguments: [sequence, sink])
        try deleteDelivered(db)
    }

    private static func deleteDelivered(_ db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM alert WHERE seq <= (SELECT MIN(acked) FROM sink)").execute()
    }

    private func requireDelivery() throws(QueueError) {
        guard access.contains(.deliver) else {
            throw QueueError(.notAllowed, "the alert queue was not opened for delivering")
        }
        guard !closed.isClosed else { throw QueueError(.closed, "the alert queue is closed") }
    }

    private func database<T: Sendable>(writing: Bool = false,
                                       _ work: @escaping @Sendable (Database) throws -> T) async throws(QueueError) -> T {
        do {
            return writing ? try await pool.write(work) : try await pool.read(work)
        } catch {
            throw QueueError(database: error, path: path)
        }
    }
}

extension AlertQueue: AlertProducer, AlertDeliveryStore {
    /// The database file.
    public var location: String { path }

    public var canDeliver: Bool { access.contains(.deliver) }
}

/// Set once by ``AlertQueue/close(timeout:)``.
private final class CloseFlag: Sendable {
    private let state = Mutex(false)

    var isClosed: Bool { state.withLock { $0 } }

    /// Marks the queue closed; false when it already was.
    func close() -> Bool {
        state.withLock { closed in
            defer { closed = true }
            return !closed
        }
    }
}
