import Foundation
import GRDB
import VigilStore

/// A motion event kept as evidence: its snapshot and alerts are never deleted while the hold is active.
public struct EvidenceHold: Sendable, Equatable, Codable {
    public var event: String
    public var camera: String
    /// Why it is held (a case number, a request): free text, shown to whoever lists the holds.
    public var reason: String
    /// The last day (UTC, `YYYY-MM-DD`) the hold protects the event; nil until released.
    public var until: String?
    /// When the hold was placed (UTC, milliseconds).
    public var since: String

    public init(event: String, camera: String, reason: String, until: String?, since: Date) {
        self.event = event
        self.camera = camera
        self.reason = reason
        self.until = until
        self.since = AlertTime.format(since)
    }

    /// Whether the hold protects the event at `now`: not past the end of its `until` day.
    public func isActive(at now: Date) -> Bool {
        guard let until, let day = UTCDay.parse(until) else { return true }
        return now < day.addingTimeInterval(86_400)
    }
}

/// The evidence holds: `<state dir>/evidence.sqlite` (0600, WAL), written by `vigil evidence hold`
/// and `release`, read by the daemon's pruner at every pass and by `vigil register check`.
/// Safe to use from several processes at once.
public final class EvidenceHolds: Sendable {
    public static let fileName = "evidence.sqlite"

    private let pool: DatabasePool
    private let path: String

    /// A holds database that cannot be used; `description` is one line naming the file.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Opens (creating and migrating when needed) the holds of `directory`.
    public init(directory: StateDirectory) throws(Failure) {
        path = directory.file(Self.fileName).path
        do {
            try directory.prepare()
            pool = try SQLiteFile.openPool(at: directory.file(Self.fileName), label: "evidence")
            try Self.migrator.migrate(pool)
        } catch {
            throw Failure(description: "cannot open the evidence holds \(path): \(error)")
        }
    }

    private init(pool: DatabasePool, path: String) {
        self.pool = pool
        self.path = path
    }

    /// The holds of `directory` for a reader: nil when no hold was ever placed (no file); opened
    /// read-only (as of the last checkpoint when the WAL index is missing) when the directory is not writable.
    public static func existing(in directory: StateDirectory) throws(Failure) -> EvidenceHolds? {
        let file = directory.file(fileName).path
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard directory.isReadOnly else { return try EvidenceHolds(directory: directory) }
        var configuration = Configuration()
        configuration.label = "evidence"
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        do {
            let walIndex = access(file + "-shm", R_OK) == 0
            let pool = try DatabasePool(path: walIndex ? file : "file:\(file)?immutable=1", configuration: configuration)
            return EvidenceHolds(pool: pool, path: file)
        } catch {
            throw Failure(description: "cannot read the evidence holds \(file): \(error)")
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: holds") { db in
            try db.create(table: "hold") { table in
                table.primaryKey("event", .text)
                table.column("camera", .text).notNull().indexed()
                table.column("reason", .text).notNull()
                table.column("until", .text)
                table.column("since", .text).notNull()
            }
        }
        return migrator
    }

    /// Places (or replaces: a new reason or end) the hold on `hold.event`.
    public func place(_ hold: EvidenceHold) throws(Failure) {
        try run(writing: true) { db in try hold.save(db) }
    }

    /// Lifts the hold on `event`; false when there was none.
    public func release(event: String) throws(Failure) -> Bool {
        try run(writing: true) { db in try EvidenceHold.deleteOne(db, key: event) }
    }

    /// Every hold, active or expired, by camera then event.
    public func all() throws(Failure) -> [EvidenceHold] {
        try run { db in try EvidenceHold.order(Column("camera"), Column("event")).fetchAll(db) }
    }

    /// The events whose hold is active at `now`.
    public func heldEvents(at now: Date = Date()) throws(Failure) -> Set<String> {
        Set(try all().filter { $0.isActive(at: now) }.map(\.event))
    }

    private func run<T>(writing: Bool = false, _ body: (Database) throws -> T) throws(Failure) -> T {
        do {
            return writing ? try pool.write(body) : try pool.read(body)
        } catch {
            throw Failure(description: "evidence holds \(path): \(error)")
        }
    }
}

/// Holds are stored one row per event, one column per property.
extension EvidenceHold: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "hold"
}
