import Foundation
import PostgresNIO

/// The fleet as `vigil cluster status` shows it: nodes, cameras without an owner, leases about to expire.
public struct LeaseStatus: Sendable, Codable, Equatable {
    /// A node's row and how many cameras it holds.
    public struct Node: Sendable, Codable, Equatable {
        public let name: String
        public let capacity: Int
        /// Seen within `lease_seconds`.
        public let alive: Bool
        /// Leases it holds that have not expired.
        public let cameras: Int
        public let lastSeen: Date
        public let secondsSinceSeen: Double
    }

    /// A held lease.
    public struct Lease: Sendable, Codable, Equatable {
        public let camera: String
        public let node: String
        public let epoch: Int64
        /// Negative once expired.
        public let secondsLeft: Double
    }

    public let nodes: [Node]
    /// Enabled cameras that no node holds (no lease, released, or expired), by id.
    public let unowned: [String]
    /// Held leases with less than half of `lease_seconds` left: their node missed a renewal.
    public let expiring: [Lease]

    /// Reads the fleet's state from the database; `leaseSeconds` decides who is alive and what is about to expire.
    public static func read(from database: ClusterDatabase, leaseSeconds: Double) async throws(ClusterError) -> LeaseStatus {
        do {
            var nodes: [Node] = []
            for try await (name, capacity, lastSeen, age, cameras) in try await database.client.query("""
                SELECT n.name, n.capacity, n.last_seen, extract(epoch FROM now() - n.last_seen)::float8,
                       (SELECT count(*) FROM leases l WHERE l.node = n.name AND l.expires_at > now())::int8
                FROM nodes n ORDER BY n.name
                """).decode((String, Int, Date, Double, Int).self) {
                nodes.append(Node(name: name, capacity: capacity, alive: age < leaseSeconds, cameras: cameras,
                                  lastSeen: lastSeen, secondsSinceSeen: age))
            }
            var unowned: [String] = []
            for try await camera in try await database.client.query("""
                SELECT c.id FROM cameras c LEFT JOIN leases l ON l.camera_id = c.id
                WHERE c.enabled AND (l.node IS NULL OR l.expires_at <= now()) ORDER BY c.id
                """).decode(String.self) {
                unowned.append(camera)
            }
            var expiring: [Lease] = []
            for try await (camera, node, epoch, left) in try await database.client.query("""
                SELECT camera_id, node, epoch, extract(epoch FROM expires_at - now())::float8 FROM leases
                WHERE node IS NOT NULL AND expires_at > now() AND expires_at < now() + make_interval(secs => \(leaseSeconds / 2))
                ORDER BY expires_at, camera_id
                """).decode((String, String, Int64, Double).self) {
                expiring.append(Lease(camera: camera, node: node, epoch: epoch, secondsLeft: left))
            }
            return LeaseStatus(nodes: nodes, unowned: unowned, expiring: expiring)
        } catch {
            throw ClusterError(doing: "cannot read the fleet's state from the cluster \(database.url)", error)
        }
    }
}
