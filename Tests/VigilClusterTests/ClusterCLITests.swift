import Foundation
import Logging
import Testing
import VigilPostgres
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// A cluster database and a config naming it, for driving the real `vigil` binary in fleet mode.
final class ClusterCLIFixture {
    let server: PostgresServer
    let database: String
    let files: TemporaryDirectory
    /// A config with a `cluster:` section naming the database.
    let config: String

    init() throws {
        server = try PostgresServer()
        database = try server.createDatabase()
        files = try TemporaryDirectory()
        let urlFile = files.url.appendingPathComponent("database-url").path
        try server.socketURL(database: database).write(toFile: urlFile, atomically: true, encoding: .utf8)
        config = files.url.appendingPathComponent("vigil.yaml").path
        try "cluster:\n  database_url_file: \(urlFile)\n  node: cli-test\n".write(toFile: config, atomically: true, encoding: .utf8)
    }

    func file(_ name: String, _ contents: String) throws -> String {
        let url = files.url.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// `vigil ARGUMENTS --config CONFIG --state-dir STATE`.
    func vigil(_ arguments: [String], state: TemporaryDirectory) throws -> ProcessOutput {
        try runVigil(arguments + ["--config", config, "--state-dir", state.path])
    }

    func sql(_ query: String) throws -> String {
        try server.psql(database, query).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

@Suite("Cluster CLI", .serialized)
struct ClusterCLITests {
    static let password = "Pw-7hq/x#9"

    static func addArguments(_ id: String, visibility: String) -> [String] {
        ["camera", "add", id, "--url", "rtsp://127.0.0.1:8554/\(id)", "--name", "Camera \(id)", "--lat=51.05", "--lon=3.72",
         "--municipality", "Gent", "--operator", "Stad Gent", "--purpose", "traffic", visibility]
    }

    @Test("with cluster: in the config, camera and register commands on two state directories share one registry")
    func twoStateDirectoriesOneRegistry() throws {
        let fixture = try ClusterCLIFixture()
        let nodeA = try TemporaryDirectory(), nodeB = try TemporaryDirectory()
        let passwordFile = try fixture.file("camera-password", Self.password)
        var transcript = ""
        func vigil(_ arguments: [String], on state: TemporaryDirectory) throws -> ProcessOutput {
            let output = try fixture.vigil(arguments, state: state)
            transcript += output.stdoutText + output.stderrText
            return output
        }

        let add = try vigil(Self.addArguments("korenmarkt", visibility: "--public")
                            + ["--username", "viewer", "--password-file", passwordFile], on: nodeA)
        #expect(add.status == 0, "\(add.stderrText)")
        #expect(try vigil(Self.addArguments("depot", visibility: "--private"), on: nodeB).status == 0)
        let duplicate = try vigil(Self.addArguments("korenmarkt", visibility: "--public"), on: nodeB)
        #expect(duplicate.status == 1 && duplicate.stderrText == "vigil: camera 'korenmarkt' already exists; use 'vigil camera update'\n")

        let list = try vigil(["camera", "list"], on: nodeB)
        #expect(list.status == 0)
        #expect(list.stdoutText.split(separator: "\n").dropFirst().map { $0.split(separator: " ").first } == ["depot", "korenmarkt"])
        let show = try vigil(["camera", "show", "korenmarkt"], on: nodeB)
        #expect(show.stdoutText.contains("credentials:    stored for user viewer"), "\(show.stdoutText)")
        #expect(try vigil(["camera", "update", "depot", "--name", "Stelplaats"], on: nodeA).status == 0)
        #expect(try vigil(["camera", "disable", "korenmarkt"], on: nodeB).status == 0)
        #expect(try fixture.sql("SELECT id || ':' || enabled::text || ':' || (record->>'name') FROM cameras ORDER BY id")
                == "depot:true:Stelplaats\nkorenmarkt:false:Camera korenmarkt")
        #expect(try vigil(["camera", "enable", "korenmarkt"], on: nodeA).status == 0)
        #expect(try fixture.sql("SELECT username || ':' || password FROM camera_credentials") == "viewer:\(Self.password)")

        // The public register: the public camera's public fields, never the private camera or credentials.
        let export = try vigil(["register", "export", "--format", "json"], on: nodeA)
        #expect(export.status == 0, "\(export.stderrText)")
        #expect(export.stdoutText.contains("korenmarkt") && !export.stdoutText.contains("depot"))
        for secret in ["viewer", Self.password, "rtsp://"] {
            #expect(!export.stdoutText.contains(secret), "the register shows \(secret)")
        }

        let unknown = try vigil(["camera", "remove", "nope"], on: nodeA)
        #expect(unknown.status == 1
                && unknown.stderrText == "vigil: no camera 'nope'; 'vigil camera list' shows the registered ones\n")
        #expect(try vigil(["camera", "remove", "depot"], on: nodeA).status == 0)
        #expect(try vigil(["camera", "list"], on: nodeB).stdoutText.contains("depot") == false)
        #expect(!transcript.contains(Self.password), "a command printed the camera password")

        // Without --config the single-server default is untouched: the state directory's own SQLite registry.
        let local = try runVigil(["camera", "list", "--state-dir", nodeA.path])
        #expect(local.status == 0 && local.stdoutText == "no cameras; add one with 'vigil camera add'\n", "\(local.stdoutText)")
    }

    @Test("cluster migrate copies a state directory's registry with credentials and undelivered alerts, and a second run changes nothing")
    func migrate() async throws {
        let fixture = try ClusterCLIFixture()
        let state = try TemporaryDirectory()
        let directory = StateDirectory(option: state.path)
        let registry = try CameraRegistry(directory: directory)
        try registry.add([
            (StoreContract.camera("with"), CameraCredentials(username: "viewer", password: Self.password)),
            (StoreContract.camera("off", enabled: false), nil),
        ])
        let queue = try AlertQueue(directory: directory, access: [.produce, .deliver])
        let sent = (1...4).map { StoreContract.alert("with", "alert \($0)") }
        for alert in sent { try await queue.enqueue(alert) }
        #expect(await queue.flush(timeout: 10))
        let start = try #require(try await queue.registerSinks(["log", "webhook"])["log"])
        let read = try await queue.alerts(after: start, limit: 10)
        try await queue.acknowledge(sink: "log", through: read[3].sequence)
        try await queue.acknowledge(sink: "webhook", through: read[0].sequence)
        _ = queue.close()

        let migrate = ["cluster", "migrate", "--from-state-dir", state.path, "--config", fixture.config]
        let first = try runVigil(migrate)
        #expect(first.status == 0, "\(first.stderrText)")
        #expect(first.stdoutText.contains("2 cameras added, 0 already there; 3 undelivered alerts added, 0 already there"),
                "\(first.stdoutText)")
        #expect(!(first.stdoutText + first.stderrText).contains(Self.password))

        let snapshot = "SELECT (SELECT string_agg(id || ':' || enabled::text || ':' || (record->>'name'), ',' ORDER BY id) FROM cameras)"
            + " || '|' || (SELECT string_agg(camera_id || ':' || username || ':' || password, ',') FROM camera_credentials)"
            + " || '|' || (SELECT string_agg(id, ',' ORDER BY position) FROM alerts)"
            + " || '|' || (SELECT value FROM registry_generation)"
        let after = try fixture.sql(snapshot)
        #expect(after.hasPrefix("off:false:Camera off,with:true:Camera with|with:viewer:\(Self.password)|"
                                + sent[1...].map(\.id).joined(separator: ",") + "|"), "\(after)")

        let second = try runVigil(migrate)
        #expect(second.status == 0, "\(second.stderrText)")
        #expect(second.stdoutText.contains("0 cameras added, 2 already there; 0 undelivered alerts added, 3 already there"),
                "\(second.stdoutText)")
        #expect(try fixture.sql(snapshot) == after, "a second run changes nothing, not even the registry generation")

        // A camera that differs in the cluster is kept as it is there, and named.
        _ = try fixture.sql("UPDATE cameras SET record = jsonb_set(record, '{name}', '\"Renamed\"') WHERE id = 'off'")
        let clash = try runVigil(migrate)
        #expect(clash.status == 1 && clash.stderrText.hasPrefix("vigil: camera 'off' already in the cluster"), "\(clash.stderrText)")
        #expect(try fixture.sql("SELECT record->>'name' FROM cameras WHERE id = 'off'") == "Renamed")

        let missing = try runVigil(["cluster", "migrate", "--from-state-dir", fixture.files.path, "--config", fixture.config])
        #expect(missing.status == 1 && missing.stderrText.hasPrefix("vigil: no registry in"), "\(missing.stderrText)")
    }

    @Test("with cluster: in the config, register publish/diff/check, evidence export, alerts dead and alerts tail -f read the fleet's database")
    func fleetReadingCommands() async throws {
        let fixture = try ClusterCLIFixture()
        let state = try TemporaryDirectory()
        let passwordFile = try fixture.file("camera-password", Self.password)
        var transcript = ""
        func vigil(_ arguments: [String], cluster: Bool = true) throws -> ProcessOutput {
            let output = cluster ? try fixture.vigil(arguments, state: state) : try runVigil(arguments + ["--state-dir", state.path])
            transcript += output.stdoutText + output.stderrText
            return output
        }
        #expect(try vigil(Self.addArguments("korenmarkt", visibility: "--public")
                          + ["--username", "viewer", "--password-file", passwordFile]).status == 0)
        #expect(try vigil(Self.addArguments("depot", visibility: "--private")).status == 0)
        let key = fixture.files.url.appendingPathComponent("register.key").path
        let published = fixture.files.url.appendingPathComponent("public").path
        #expect(try runVigil(["register", "keygen", "--output", key]).status == 0)

        // publish: the fleet's public cameras, signed.
        let publish = try vigil(["register", "publish", "--key", key, "--output", published])
        #expect(publish.status == 0 && publish.stdoutText.contains("published version 1 of the register (1 public cameras)"),
                "\(publish.stderrText)")
        let register = try String(contentsOfFile: published + "/register.json", encoding: .utf8)
        #expect(register.contains("korenmarkt") && !register.contains("depot"))
        #expect(try runVigil(["register", "verify", published, "--public-key", key + ".pub"]).status == 0)

        // diff without NEW: the publication against the registry now.
        let same = try vigil(["register", "diff", published])
        #expect(same.status == 0 && same.stdoutText.isEmpty, "\(same.stdoutText)\(same.stderrText)")
        #expect(try vigil(Self.addArguments("station", visibility: "--public")).status == 0)
        let changed = try vigil(["register", "diff", published])
        #expect(changed.status == 1 && changed.stdoutText == "+ station\n", "\(changed.stdoutText)\(changed.stderrText)")
        let local = try vigil(["register", "diff", published], cluster: false)
        #expect(local.status == 1 && local.stdoutText == "- korenmarkt\n", "the state directory's registry is empty: \(local.stdoutText)")

        // check: the fleet's enabled cameras (none declared yet).
        let check = try vigil(["register", "check", "--json"])
        let checked = check.stdoutText.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["camera"] as? String
        }
        #expect(check.status == 1 && checked == ["depot", "korenmarkt", "station"], "\(check.stdoutText)\(check.stderrText)")

        // evidence export: the record from the fleet, the (empty) snapshots and alert log of this node.
        let bundle = fixture.files.url.appendingPathComponent("bundle").path
        let export = ["evidence", "export", "--camera", "korenmarkt", "--from", "2026-01-01", "--to", "2026-02-01", "--output", bundle]
        #expect(try vigil(export, cluster: false).stderrText.hasPrefix("vigil: no camera 'korenmarkt'"))
        let exported = try vigil(export)
        #expect(exported.status == 0 && exported.stdoutText.contains("0 alerts, 0 snapshots of camera korenmarkt"),
                "\(exported.stderrText)")
        let record = try String(contentsOfFile: bundle + "/camera.json", encoding: .utf8)
        transcript += record
        #expect(record.contains("Camera korenmarkt"))

        // alerts dead: the fleet's dead letters (the fleet's webhook runs over the cluster's alerts).
        let none = try vigil(["alerts", "dead"])
        #expect(none.status == 0 && none.stdoutText.hasPrefix("no dead letters in the cluster database \(fixture.database) on "), "\(none.stdoutText)\(none.stderrText)")
        let database = try await ClusterDatabase.open(DatabaseURL(parsing: fixture.server.socketURL(database: fixture.database)),
                                                      logger: Logger(label: "test"))
        let store = ClusterAlertStore(database: database, deliver: true)
        let start = try #require(try await store.registerSinks(["webhook"])["webhook"])
        let alert = StoreContract.alert("korenmarkt", "offline")
        _ = try await store.enqueue(alert)
        let queued = try await store.alerts(after: start, limit: 10)
        try await store.deadLetter(try #require(queued.first), sink: "webhook", failures: 5, reason: "HTTP 500")
        store.close()
        await database.close()
        let dead = try vigil(["alerts", "dead"])
        #expect(dead.status == 0 && dead.stdoutText.contains("webhook gave up after 5 attempts (HTTP 500) on alert \(alert.id)"),
                "\(dead.stdoutText)\(dead.stderrText)")
        let json = try vigil(["alerts", "dead", "--json"])
        let letter = try #require(try JSONSerialization.jsonObject(with: Data(json.stdoutText.utf8)) as? [String: Any])
        #expect(letter["sink"] as? String == "webhook" && (letter["alert"] as? [String: Any])?["id"] as? String == alert.id)
        #expect(!(try vigil(["alerts", "dead"], cluster: false).stdoutText.contains(alert.id)))

        // alerts tail: the fleet's alerts table, and -f follows a commit from another process (LISTEN).
        let tail = try vigil(["alerts", "tail", "--json"])
        #expect(tail.status == 0 && tail.stderrText.isEmpty && tail.stdoutText == alert.jsonLine() + "\n",
                "\(tail.stdoutText)\(tail.stderrText)")
        let later = try await ClusterDatabase.open(DatabaseURL(parsing: fixture.server.socketURL(database: fixture.database)),
                                                   logger: Logger(label: "test"))
        let producer = ClusterAlertStore(database: later, deliver: false)
        let first = StoreContract.alert("station", "offline"), second = StoreContract.alert("station", "offline again")
        _ = try await producer.enqueue(first)
        let follower = try TestProcess(vigilExecutable, ["alerts", "tail", "-f", "--json", "--camera", "station", "--config", fixture.config])
        defer { follower.kill() }
        #expect(await eventually(within: 10) { follower.stdoutText.contains(first.id) }, "\(follower.stderrText)")
        _ = try await producer.enqueue(StoreContract.alert("korenmarkt", "filtered out"))
        _ = try await producer.enqueue(second)
        producer.close()
        await later.close()
        #expect(await eventually(within: 10) { follower.stdoutText.contains(second.id) }, "\(follower.stdoutText)\(follower.stderrText)")
        #expect(follower.stdoutText == first.jsonLine() + "\n" + second.jsonLine() + "\n" && follower.stderrText.isEmpty,
                "\(follower.stdoutText)\(follower.stderrText)")

        for secret in [Self.password, "viewer"] {
            #expect(!transcript.contains(secret), "a command showed \(secret)")
        }
    }
}
