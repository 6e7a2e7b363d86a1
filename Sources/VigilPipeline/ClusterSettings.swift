import VigilDetector

/// Fleet mode (`cluster:` in the config): several nodes share one PostgreSQL database for the
/// registry, camera leases and alerts. Off unless `database_url_file` is set; the single-server
/// default (SQLite in the state directory) needs none of it.
public struct ClusterSettings: Sendable, Equatable, Codable {
    /// A file holding the database URL (`postgresql://user:password@host:5432/vigil`, or
    /// `postgresql://user@/vigil?host=/run/postgresql` for a Unix socket). The URL holds a password,
    /// so it is read from a file (systemd's `LoadCredential=` works), never from the command line.
    public var databaseURLFile: String?
    /// This node's name in the fleet: unique per server, 1-63 of `a-z 0-9 . _ -`.
    public var node: String?
    /// Seconds a camera lease lasts without renewal; a dead node's cameras are taken over after it.
    public var leaseSeconds = 10.0
    /// How many cameras this node takes, in camera units (one 1080p main stream = 1); nil: from its cores.
    public var capacity: Int?

    public init() {}

    /// Whether fleet mode is on.
    public var isEnabled: Bool { databaseURLFile != nil }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case databaseURLFile = "database_url_file", node, leaseSeconds = "lease_seconds", capacity
    }

    public static var keys: [String] { CodingKeys.allCases.map(\.rawValue) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        databaseURLFile = try container.decodeIfPresent(String.self, forKey: .databaseURLFile)
        node = try container.decodeIfPresent(String.self, forKey: .node)
        leaseSeconds = try container.decodeIfPresent(Double.self, forKey: .leaseSeconds) ?? leaseSeconds
        capacity = try container.decodeIfPresent(Int.self, forKey: .capacity)
    }

    /// The first problem with these settings, as one line naming the key, or nil.
    public var problem: String? {
        if let databaseURLFile, databaseURLFile.isEmpty { return "database_url_file must be a file path" }
        if databaseURLFile != nil, node == nil { return "node is required with database_url_file: name this server, e.g. node: cam-server-1" }
        if let node, !Self.isValidNodeName(node) {
            return "node '\(node)' must be 1-63 characters of a-z, 0-9, '.', '_' or '-'"
        }
        if let capacity, let problem = Bounds.problem("capacity", capacity, 1...10_000) { return problem }
        return Bounds.problem("lease_seconds", leaseSeconds, 3...600, unit: "seconds")
    }

    /// Whether `name` can name a node (it appears in alerts, metrics and `vigil cluster status`).
    public static func isValidNodeName(_ name: String) -> Bool {
        (1...63).contains(name.count)
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0) }
    }
}
