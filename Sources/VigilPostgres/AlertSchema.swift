/// The fleet's alerts: every node ships its committed alerts here, idempotently by alert id.
/// `position` is the delivery position (see ``AlertDeliveryStore``): drawn under an advisory lock at
/// insert so positions follow commit order.
enum AlertSchema {
    static let migrations: [ClusterMigration] = [
        ClusterMigration("alerts v1: alerts, sink cursors, dead letters", [
            "CREATE SEQUENCE alert_positions",
            """
            CREATE TABLE alerts (
                id text PRIMARY KEY,
                position bigint NOT NULL UNIQUE,
                camera_id text NOT NULL,
                kind text NOT NULL,
                node text,
                epoch bigint,
                time timestamptz NOT NULL,
                body jsonb NOT NULL,
                stored_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX alerts_by_camera ON alerts (camera_id, position)",
            "CREATE TABLE sink_cursors (sink text PRIMARY KEY, position bigint NOT NULL)",
            """
            CREATE TABLE dead_letters (
                alert_id text NOT NULL,
                sink text NOT NULL,
                failures integer NOT NULL,
                reason text NOT NULL,
                body jsonb NOT NULL,
                dead_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (alert_id, sink)
            )
            """,
        ]),
    ]
}
