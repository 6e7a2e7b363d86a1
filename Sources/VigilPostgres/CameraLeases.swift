import Foundation
import Logging
import PostgresNIO

/// A camera this node holds, with the fencing epoch of its ownership (alerts carry it).
public struct CameraLease: Sendable, Hashable, Comparable {
    public let cameraID: String
    public let epoch: Int64

    public init(cameraID: String, epoch: Int64) {
        self.cameraID = cameraID
        self.epoch = epoch
    }

    public static func < (a: CameraLease, b: CameraLease) -> Bool { a.cameraID < b.cameraID }
}

/// What one ``CameraLeases/balance()`` round left this node with.
public struct LeaseRound: Sendable {
    /// The cameras this node may watch until ``deadline``, ordered by id (``surplus`` included:
    /// it stays held until ``CameraLeases/release(_:)``).
    public let held: [CameraLease]
    /// Held cameras above this node's fair share: stop their workers, then ``CameraLeases/release(_:)``
    /// them, so that a joining node starts them only after this one stopped.
    public let surplus: [CameraLease]
    /// How many cameras this node should hold, by its capacity among the live nodes.
    public let share: Int
    /// SQL statements the round sent (its transaction's included), for load figures.
    public let statements: Int
    /// By this node's monotonic clock: when it must have stopped every camera of ``held`` unless a
    /// later round renewed them. Taken from before the round was sent, minus a margin, so it comes
    /// before the leases' `expires_at` on the database's clock.
    public let deadline: ContinuousClock.Instant
}

/// A node's side of the fleet's camera leases (see `LeaseSchema`): its heartbeat and the rounds that
/// renew, claim and hand over camera leases.
///
/// One ``balance()`` round is one transaction: the node's `nodes` row is upserted (capacity,
/// `last_seen`), the leases it holds are renewed to `now() + lease_seconds`, its fair share among
/// the live nodes (seen within `lease_seconds`) is computed by capacity, and when it holds fewer it
/// claims free or expired leases of enabled cameras with `FOR UPDATE SKIP LOCKED` (so concurrent
/// nodes never claim the same row), bumping each one's `epoch`. What it holds above its share comes
/// back as ``LeaseRound/surplus`` for the caller to stop and release. Time on the database is the
/// server's `now()`; the node's own deadline is its monotonic clock (``LeaseRound/deadline``).
public final class CameraLeases: Sendable {
    public let database: ClusterDatabase
    /// This node's name (`cluster.node`).
    public let node: String
    /// Cameras this node can watch (`cluster.capacity`); it never holds more.
    public let capacity: Int
    /// How long a renewed lease lasts (`cluster.lease_seconds`).
    public let leaseSeconds: Double
    /// How long before a lease's expiry the node must have stopped its camera.
    public let margin: Duration
    private let logger: Logger

    public init(database: ClusterDatabase, node: String, capacity: Int, leaseSeconds: Double, logger: Logger) {
        self.database = database
        self.node = node
        self.capacity = capacity
        self.leaseSeconds = leaseSeconds
        margin = .milliseconds(Int64(max(1000, leaseSeconds * 200)))
        self.logger = logger
    }

    /// How often a node should run ``balance()``: three rounds per lease.
    public var roundInterval: Duration { .milliseconds(Int64(leaseSeconds * 1000 / 3)) }

    /// One heartbeat-renew-claim round; see the type's description.
    public func balance() async throws(ClusterError) -> LeaseRound {
        let sent = ContinuousClock.now
        let (node, capacity, seconds, logger) = (node, capacity, leaseSeconds, logger)
        do {
            let (held, share, statements) = try await database.client.withTransaction(logger: logger) { connection in
                try await connection.query("""
                    INSERT INTO nodes (name, capacity) VALUES (\(node), \(capacity))
                    ON CONFLICT (name) DO UPDATE SET capacity = EXCLUDED.capacity, last_seen = now()
                    """, logger: logger)
                try await connection.query("""
                    INSERT INTO leases (camera_id)
                    SELECT id FROM cameras c WHERE enabled AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.camera_id = c.id)
                    ORDER BY id
                    ON CONFLICT (camera_id) DO NOTHING
                    """, logger: logger)
                // A disabled camera's lease is let go (its worker stops by the registry anyway).
                try await connection.query("""
                    UPDATE leases SET node = NULL, expires_at = now()
                    WHERE node = \(node) AND camera_id IN (SELECT id FROM cameras WHERE NOT enabled)
                    """, logger: logger)
                // Only a lease still valid is renewed: an expired one may be claimed by anyone, this node included.
                var held = try await Self.leases(connection.query("""
                    UPDATE leases SET expires_at = now() + make_interval(secs => \(seconds))
                    WHERE node = \(node) AND expires_at > now()
                    RETURNING camera_id, epoch
                    """, logger: logger))
                var nodes: [(name: String, capacity: Int)] = []
                for try await (name, capacity) in try await connection.query("""
                    SELECT name, capacity FROM nodes WHERE last_seen > now() - make_interval(secs => \(seconds))
                    """, logger: logger).decode((String, Int).self) {
                    nodes.append((name, capacity))
                }
                var cameras = 0
                for try await count in try await connection.query(
                    "SELECT count(*) FROM cameras WHERE enabled", logger: logger).decode(Int.self) {
                    cameras = count
                }
                let share = Self.share(of: node, among: nodes, cameras: cameras)
                var statements = 8
                if held.count < share {
                    statements += 1
                    held += try await Self.leases(connection.query("""
                        UPDATE leases SET node = \(node), epoch = leases.epoch + 1,
                                          expires_at = now() + make_interval(secs => \(seconds))
                        WHERE camera_id IN (
                            SELECT camera_id FROM leases
                            WHERE (node IS NULL OR expires_at <= now())
                              AND camera_id IN (SELECT id FROM cameras WHERE enabled)
                            ORDER BY camera_id LIMIT \(share - held.count)
                            FOR UPDATE SKIP LOCKED)
                        RETURNING camera_id, epoch
                        """, logger: logger))
                }
                return (held.sorted(), share, statements)
            }
            return LeaseRound(held: held, surplus: Array(held.suffix(max(0, held.count - share))), share: share,
                              statements: statements, deadline: sent + .milliseconds(Int64(leaseSeconds * 1000)) - margin)
        } catch {
            throw ClusterError(doing: "cannot renew the camera leases of node '\(node)' in the cluster \(database.url)", error)
        }
    }

    /// Lets go of cameras this node holds (their workers must have stopped): `node` NULL, expired now,
    /// so any node's next round may claim them.
    public func release(_ cameraIDs: [String]) async throws(ClusterError) {
        guard !cameraIDs.isEmpty else { return }
        do {
            try await database.client.query("""
                UPDATE leases SET node = NULL, expires_at = now()
                WHERE node = \(node) AND camera_id = ANY(\(cameraIDs))
                """, logger: logger)
        } catch {
            throw ClusterError(doing: "cannot release camera leases of node '\(node)' in the cluster \(database.url)", error)
        }
    }

    /// Leaving the fleet (after every worker stopped): releases all this node's leases and removes its
    /// `nodes` row, so the others take its cameras at their next round instead of after expiry.
    public func leave() async throws(ClusterError) {
        do {
            try await database.client.withTransaction(logger: logger) { connection in
                try await connection.query("UPDATE leases SET node = NULL, expires_at = now() WHERE node = \(node)", logger: logger)
                try await connection.query("DELETE FROM nodes WHERE name = \(node)", logger: logger)
            }
        } catch {
            throw ClusterError(doing: "cannot release the camera leases of node '\(node)' in the cluster \(database.url)", error)
        }
    }

    /// How many of `cameras` the node `name` should hold: shares proportional to capacity, rounded
    /// by largest remainder (ties by name) so that the shares of all nodes add up to `cameras`,
    /// capped by each node's capacity. Every node computes the same shares from the same rows.
    static func share(of name: String, among nodes: [(name: String, capacity: Int)], cameras: Int) -> Int {
        let total = nodes.reduce(0) { $0 + $1.capacity }
        guard total > 0, let mine = nodes.first(where: { $0.name == name }) else { return 0 }
        let floors = nodes.map { (name: $0.name, floor: cameras * $0.capacity / total, remainder: cameras * $0.capacity % total) }
        let left = cameras - floors.reduce(0) { $0 + $1.floor }
        let extra = floors.sorted { ($0.remainder, $1.name) > ($1.remainder, $0.name) }.prefix(left).map(\.name)
        let share = cameras * mine.capacity / total + (extra.contains(name) ? 1 : 0)
        return min(share, mine.capacity)
    }

    private static func leases(_ rows: PostgresRowSequence) async throws -> [CameraLease] {
        var leases: [CameraLease] = []
        for try await (camera, epoch) in rows.decode((String, Int64).self) {
            leases.append(CameraLease(cameraID: camera, epoch: epoch))
        }
        return leases
    }
}
