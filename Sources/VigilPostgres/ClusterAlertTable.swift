import Foundation
import Logging
import PostgresNIO
import VigilStore

/// The fleet's `alerts` table: where every node's committed alerts end up, once each by alert id.
public enum ClusterAlertTable {
    /// The `pg_advisory_xact_lock` key every inserting transaction takes before drawing delivery
    /// positions, so that positions follow commit order (see ``AlertDeliveryStore``).
    static let positionLockKey: Int64 = 0x76_69_67_69_6C_01
    /// The `NOTIFY` channel an insert signals, for consumers waiting on new alerts.
    public static let channel = "vigil_alerts"

    /// Stores the alerts not stored yet (an id already present is left as it is), in the order given,
    /// in one transaction; returns how many were new.
    @discardableResult
    public static func insert(_ alerts: [Alert], into database: ClusterDatabase, logger: Logger) async throws(ClusterError) -> Int {
        guard !alerts.isEmpty else { return 0 }
        do {
            return try await database.client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(positionLockKey))", logger: logger)
                var inserted = 0
                for alert in alerts {
                    let rows = try await connection.query("""
                        INSERT INTO alerts (id, position, camera_id, kind, node, epoch, time, body)
                        VALUES (\(alert.id), nextval('alert_positions'), \(alert.camera), \(alert.kind.rawValue),
                                \(alert.node), \(alert.epoch), \(alert.time), \(alert.jsonLine())::jsonb)
                        ON CONFLICT (id) DO NOTHING
                        RETURNING position
                        """, logger: logger)
                    for try await _ in rows { inserted += 1 }
                }
                if inserted > 0 {
                    try await connection.query(PostgresQuery(unsafeSQL: "NOTIFY \(channel)"), logger: logger)
                }
                return inserted
            }
        } catch {
            throw ClusterError(doing: "cannot store alerts in the cluster \(database.url)", error)
        }
    }
}
