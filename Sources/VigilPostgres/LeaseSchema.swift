/// The fleet's nodes and camera leases. A node heartbeats its `nodes` row; a camera's `leases` row
/// names its owner until `expires_at`, and `epoch` grows on every change of owner (the fencing
/// token alerts carry). A row stays when its owner lets go (`node` NULL) so the epoch never goes back.
enum LeaseSchema {
    static let migrations: [ClusterMigration] = [
        ClusterMigration("leases v1: nodes and camera leases", [
            """
            CREATE TABLE nodes (
                name text PRIMARY KEY,
                capacity integer NOT NULL CHECK (capacity > 0),
                started_at timestamptz NOT NULL DEFAULT now(),
                last_seen timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE leases (
                camera_id text PRIMARY KEY REFERENCES cameras(id) ON DELETE CASCADE,
                node text,
                epoch bigint NOT NULL DEFAULT 0,
                expires_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX leases_by_node ON leases (node)",
        ]),
    ]
}
