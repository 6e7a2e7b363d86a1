/// One named step of the fleet database's schema. Steps are applied once each, in the order of
/// ``ClusterSchema/all``, by whichever node or command opens the database first (an advisory lock
/// keeps two from migrating at once). Never edit an applied step: add a new one.
public struct ClusterMigration: Sendable {
    public let name: String
    public let statements: [String]

    public init(_ name: String, _ statements: [String]) {
        self.name = name
        self.statements = statements
    }
}

/// Every schema step, in order. Each part of the fleet keeps its tables in a file of its own.
public enum ClusterSchema {
    public static let all: [ClusterMigration] = RegistrySchema.migrations + LeaseSchema.migrations + AlertSchema.migrations

    /// The `pg_advisory_lock` key that serialises migrations ("vigil" in ASCII).
    static let migrationLockKey: Int64 = 0x76_69_67_69_6C
}
