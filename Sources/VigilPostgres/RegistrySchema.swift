/// The registry's tables: cameras (the record as JSON beside the columns queries need) and their
/// credentials in a table of their own, which nothing that lists or exports cameras reads.
/// `registry_generation` moves on every change of either (statement triggers), for
/// ``CameraSource/generation()``.
enum RegistrySchema {
    static let migrations: [ClusterMigration] = [
        ClusterMigration("registry v1: cameras, credentials, generation", [
            """
            CREATE TABLE cameras (
                id text PRIMARY KEY,
                enabled boolean NOT NULL,
                is_public boolean NOT NULL,
                record jsonb NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE camera_credentials (
                camera_id text PRIMARY KEY REFERENCES cameras(id) ON DELETE CASCADE,
                username text NOT NULL,
                password text NOT NULL
            )
            """,
            "CREATE TABLE registry_generation (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), value bigint NOT NULL)",
            "INSERT INTO registry_generation (value) VALUES (0)",
            """
            CREATE FUNCTION vigil_registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE registry_generation SET value = value + 1;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER cameras_changed AFTER INSERT OR UPDATE OR DELETE ON cameras
                FOR EACH STATEMENT EXECUTE FUNCTION vigil_registry_changed()
            """,
            """
            CREATE TRIGGER camera_credentials_changed AFTER INSERT OR UPDATE OR DELETE ON camera_credentials
                FOR EACH STATEMENT EXECUTE FUNCTION vigil_registry_changed()
            """,
        ]),
    ]
}
