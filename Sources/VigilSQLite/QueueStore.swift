import Foundation
import GRDB
import VigilStore
import Logging

/// The queue's tables and the SQL that fills them. Every function runs inside a transaction its
/// caller opened on the single writer connection.
///
/// - `alert`: undelivered alerts, in commit order (`seq`). A row is deleted once every sink
///   acknowledged it.
/// - `open_event`: the `motion_started` of every event without its `motion_ended` yet (crash closure).
/// - `coalesced`: per camera and motion kind, the first alert and a count, while the queue is full.
/// - `sink`: each sink's acknowledged position (the last `seq` it delivered).
/// - `dead_letter`: alerts a sink gave up on.
struct QueueStore: Sendable {
    let options: QueueOptions
    let logger: Logger

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE alert (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    camera TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    time TEXT NOT NULL,
                    body TEXT NOT NULL);
                CREATE TABLE open_event (
                    event TEXT PRIMARY KEY,
                    body TEXT NOT NULL);
                CREATE TABLE coalesced (
                    camera TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    body TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    last_time TEXT NOT NULL,
                    PRIMARY KEY (camera, kind));
                CREATE TABLE sink (
                    name TEXT PRIMARY KEY,
                    acked INTEGER NOT NULL);
                CREATE TABLE dead_letter (
                    sink TEXT NOT NULL,
                    id TEXT NOT NULL,
                    failures INTEGER NOT NULL,
                    reason TEXT NOT NULL,
                    dead_at TEXT NOT NULL,
                    body TEXT NOT NULL,
                    PRIMARY KEY (sink, id));
                """)
        }
        return migrator
    }()

    /// What storing a batch did, beyond each alert's outcome.
    struct BatchResult {
        var outcomes: [EnqueueOutcome] = []
        var coalescedCount = 0
    }

    /// Stores alerts in order. While the queue is full, motion alerts are folded into the
    /// `coalesced` table; a health alert first writes out its camera's coalesced motion, so that
    /// each camera's alerts stay in order.
    func store(_ alerts: [Alert], in db: Database) throws -> BatchResult {
        var result = BatchResult()
        var room = try room(in: db, needed: alerts.count)
        if room > 0 { try writeCoalesced(camera: nil, in: db) }
        for alert in alerts {
            let line = alert.jsonLine()
            if alert.kind.isMotion, room <= 0 {
                try coalesce(alert, line: line, in: db)
                result.outcomes.append(.coalesced)
                result.coalescedCount += alert.count
            } else {
                if !alert.kind.isMotion { try writeCoalesced(camera: alert.camera, in: db) }
                try insert(alert, line: line, in: db)
                result.outcomes.append(.enqueued)
                room -= 1
            }
            if alert.kind == .motionStarted, let event = alert.event {
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO open_event (event, body) VALUES (?, ?)")
                    .execute(arguments: [event, line])
            } else if alert.kind == .motionEnded, let event = alert.event {
                try db.cachedStatement(sql: "DELETE FROM open_event WHERE event = ?").execute(arguments: [event])
            }
        }
        return result
    }

    /// The `motion_started` of every event without its `motion_ended`, oldest first. Storing an
    /// event's `motion_ended` removes it from here.
    func openEvents(in db: Database) throws -> [Alert] {
        try String.fetchAll(db, sql: "SELECT body FROM open_event ORDER BY event").compactMap { try? Alert(jsonLine: $0) }
    }

    /// Writes coalesced counts back as alerts when the queue has room again; returns whether any wait.
    func writeCoalescedIfRoom(in db: Database) throws -> Bool {
        if try room(in: db, needed: 0) > 0 { try writeCoalesced(camera: nil, in: db) }
        return try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM coalesced)") ?? false
    }

    /// How many more alerts fit before the queue is full (by count or by size); at most `needed + 1`
    /// when that many surely fit, so that the common case costs two index lookups.
    private func room(in db: Database, needed: Int) throws -> Int {
        func number(_ sql: String) throws -> Int64? { try Int64.fetchOne(db.cachedStatement(sql: sql)) }
        let pageSize = try number("PRAGMA page_size") ?? 4096
        let pages = try number("PRAGMA page_count") ?? 0
        let free = try number("PRAGMA freelist_count") ?? 0
        if (pages - free) * pageSize >= options.maxBytes { return 0 }
        // Two queries: SQLite answers a lone MIN or MAX from the index, both at once by a scan.
        guard let low = try number("SELECT MIN(seq) FROM alert"), let high = try number("SELECT MAX(seq) FROM alert") else {
            return options.maxAlerts
        }
        let upperBound = Int(high - low + 1)
        if upperBound + needed < options.maxAlerts { return needed + 1 }
        return options.maxAlerts - Int(try number("SELECT COUNT(*) FROM alert") ?? 0)
    }

    private func insert(_ alert: Alert, line: String, in db: Database) throws {
        // An alert enqueued twice (same id) is stored once.
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO alert (id, camera, kind, time, body) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [alert.id, alert.camera, alert.kind.rawValue, AlertTime.format(alert.time), line])
    }

    private func coalesce(_ alert: Alert, line: String, in db: Database) throws {
        let first = try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM coalesced WHERE camera = ?)",
                                      arguments: [alert.camera]) ?? true
        try db.execute(sql: """
            INSERT INTO coalesced (camera, kind, body, count, last_time) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (camera, kind) DO UPDATE SET count = count + excluded.count, last_time = excluded.last_time
            """, arguments: [alert.camera, alert.kind.rawValue, line, alert.count,
                             AlertTime.format(alert.time)])
        if first {
            logger.warning("alert queue full (limits: \(options.maxAlerts) undelivered alerts, \(options.maxBytes >> 20) MiB): coalescing motion alerts of camera \(alert.camera) into counts; health alerts are still stored one by one")
        }
    }

    /// Turns coalesced counts (of one camera, or all) into alerts: the first alert of each run,
    /// with its `count` and a message saying what it stands for.
    private func writeCoalesced(camera: String?, in db: Database) throws {
        let filter = camera == nil ? "" : "WHERE camera = ?"
        let rows = try Row.fetchAll(db, sql: "SELECT rowid, camera, kind, body, count, last_time FROM coalesced \(filter) ORDER BY rowid",
                                    arguments: camera.map { [$0] } ?? [])
        for row in rows {
            let body: String = row["body"], count: Int = row["count"], lastTime: String = row["last_time"]
            guard var alert = try? Alert(jsonLine: body) else { continue }
            alert.count = count
            alert.message = "\(count) \(alert.kind) alerts of camera \(alert.camera) between "
                + "\(AlertTime.format(alert.time)) and \(lastTime), coalesced while the alert queue was full"
            try insert(alert, line: alert.jsonLine(), in: db)
            let rowID: Int64 = row["rowid"]
            try db.execute(sql: "DELETE FROM coalesced WHERE rowid = ?", arguments: [rowID])
            logger.notice("alert queue has room again: wrote \(count) coalesced \(alert.kind) alerts of camera \(alert.camera) as one alert \(alert.id)")
        }
    }
}
