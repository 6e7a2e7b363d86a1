import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Testing
import VigilDaemon
import VigilPipeline
import VigilPostgres
import VigilReporter
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// PostgreSQL stopped for a minute under two real `vigil run` nodes whose cameras keep raising alerts:
/// detection and the local alert log go on, each node drops its cameras before its leases expire by
/// its own clock, its `cluster` sink reports the outage, and once the database is back every alert
/// committed locally is in the cluster table once, in each node's commit order per camera.
@Suite("Fleet: a 60 s database outage under load", .serialized)
struct FleetOutageTests {
    static let leaseSeconds = 30.0
    static let outage: Duration = .seconds(60)
    /// In the URL file (the test server trusts every login): must never show in a log or a status.
    static let password = "outage-secret-7f3a"

    /// One node: its state directory (status file, alert log) and process.
    struct Node {
        let name: String
        let state: TemporaryDirectory
        let daemon: DaemonProcess

        /// The node's latest status snapshot, if it runs.
        var status: StatusSnapshot? {
            guard let data = FileManager.default.contents(atPath: state.path + "/" + StatusFile.name),
                  let snapshot = try? StatusFile.decode(data), snapshot.stopped == nil else { return nil }
            return snapshot
        }

        /// The cameras the latest snapshot shows watched (not stopped), and when it was taken.
        var watching: (cameras: Set<String>, taken: Date)? {
            status.map { snapshot in (Set(snapshot.cameras.filter { $0.connection != .stopped }.map(\.id)), snapshot.taken) }
        }

        var clusterSink: SinkFigures? { status?.sinks.first { $0.name == "cluster" } }

        /// The ids in the local alert log, in the order the log sink wrote them: the local queue's commit order.
        var committed: [(id: String, camera: String, kind: String)] {
            daemon.alerts().compactMap { alert in
                guard let id = alert["id"] as? String, let camera = alert["camera"] as? String else { return nil }
                return (id, camera, alert["kind"] as? String ?? "")
            }
        }
    }

    @Test("PostgreSQL down 60 s under load: local alerts go on, cameras stop before their leases expire, every alert shipped once, in order, after")
    func databaseOutage() async throws {
        let server = try FleetDatabase { $0.replacingOccurrences(of: "@/", with: ":\(Self.password)@/") }
        let (postgres, name, files, urlFile) = (server.postgres, server.name, server.files, server.urlFile)
        let url = try String(contentsOfFile: urlFile, encoding: .utf8)
        try await ClusterDatabase.open(DatabaseURL(parsing: url), logger: Logger(label: "test")).close()
        let rtsp = try RTSPTestServer(media: ["street": "two_crossings.mp4"])
        let cameras = (1...4).map { String(format: "cam%02d", $0) }
        try FleetRunTests.addCameras(cameras, url: rtsp.url("street"), to: postgres, database: name)

        var nodes: [Node] = []
        let httpPort = try closedPort()  // n1's HTTP server, for /readyz
        for node in ["n1", "n2"] {
            let state = try TemporaryDirectory()
            // capacity 2: each node claims its two cameras at its first round, no handover to wait for.
            let config = try FleetRunTests.writeConfig(node: node, urlFile: urlFile, in: files, leaseSeconds: Self.leaseSeconds, capacity: 2)
            if node == "n1" {
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: config))
                try handle.seekToEnd()
                try handle.write(contentsOf: Data("\nhttp:\n  listen: 127.0.0.1:\(httpPort)\n".utf8))
                try handle.close()
            }
            nodes.append(Node(name: node, state: state, daemon: try DaemonProcess(state: state.path, config: config)))
        }
        let clock = ContinuousClock()
        func poll(_ what: String, timeout: Duration, every interval: Duration = .milliseconds(200),
                  _ done: () throws -> Bool) async throws -> Bool {
            let end = clock.now + timeout
            while clock.now < end {
                if try done() { return true }
                try await clock.sleep(for: interval)
            }
            Issue.record("\(what) within \(timeout): \(nodes.map { "\($0.name): \($0.daemon.log.suffix(1500))" })")
            return false
        }
        func readiness() async throws -> (status: Int, body: String) {
            let (body, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(httpPort)/readyz")!)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: body, as: UTF8.self))
        }
        func shipped() throws -> [(id: String, camera: String)] {
            try postgres.psql(name, "SELECT id || '|' || camera_id FROM alerts ORDER BY position").split(separator: "\n").map {
                let parts = $0.split(separator: "|")
                return (String(parts[0]), String(parts[1]))
            }
        }

        // Under load: every camera watched, each node's alerts reaching the cluster table.
        let loaded = try await poll("both nodes streaming two cameras and shipping alerts", timeout: .seconds(60)) {
            let ids = Set(try shipped().map(\.id))
            return nodes.allSatisfy { node in
                node.status?.cameras.filter { $0.connection == .streaming }.count == 2
                    && node.committed.contains { ids.contains($0.id) }
            }
        }
        try #require(loaded)

        // Stop the server just after both nodes' rounds (not during one), so the expiry read here is
        // the one their leases really have when the database goes away.
        var expiry: [String: Double] = [:]
        _ = try await poll("a moment between the nodes' lease rounds", timeout: .seconds(20), every: .milliseconds(100)) {
            let rows = try postgres.psql(name, """
                SELECT node || '|' || extract(epoch FROM min(expires_at)) || '|' || \
                extract(epoch FROM now() - (min(expires_at) - interval '\(Int(Self.leaseSeconds)) seconds'))
                FROM leases WHERE node IS NOT NULL GROUP BY node
                """).split(separator: "\n").map { $0.split(separator: "|").map(String.init) }
            guard rows.count == 2, rows.allSatisfy({ (Double($0[2]) ?? 99) < Self.leaseSeconds / 3 - 2 }) else { return false }
            expiry = Dictionary(uniqueKeysWithValues: rows.map { ($0[0], Double($0[1])!) })
            return true
        }
        let before = nodes.map { Set($0.committed.map(\.id)) }
        try postgres.stop()
        let down = clock.now
        let downAt = Date()

        // The outage: sample every node until the minute is over.
        var stoppedAt: [String: Date] = [:]
        var failing: [String: String] = [:]
        var waiting: [String: Int] = [:]
        var statusScreen = ""
        var notReady: (status: Int, body: String)?
        while clock.now < down + Self.outage {
            for node in nodes {
                if stoppedAt[node.name] == nil, let seen = node.watching, seen.cameras.isEmpty, seen.taken > downAt {
                    stoppedAt[node.name] = seen.taken
                }
                if let sink = node.clusterSink {
                    if let reason = sink.failing { failing[node.name] = reason }
                    waiting[node.name] = max(waiting[node.name] ?? 0, sink.backlog)
                }
            }
            if statusScreen.isEmpty, failing.count == 2 {
                statusScreen = try runVigil(["status", "--state-dir", nodes[0].state.path]).stdoutText
                notReady = try await readiness()
            }
            try await clock.sleep(for: .milliseconds(200))
        }
        let during = zip(nodes, before).map { node, before in node.committed.filter { !before.contains($0.id) } }
        try postgres.start()
        let up = clock.now

        for (index, node) in nodes.enumerated() {
            let motion = during[index].filter { $0.kind.hasPrefix("motion") }.count
            print("\(node.name): \(during[index].count) alerts committed locally during the outage (\(motion) motion), "
                + "up to \(waiting[node.name] ?? 0) waiting for the cluster sink")
            #expect(motion > 0, "\(node.name): detection and local alerting went on while the database was down")
            #expect((waiting[node.name] ?? 0) > 0, "\(node.name): the outage's alerts waited in the local queue")
            let stopped = try #require(stoppedAt[node.name], "\(node.name) kept its cameras through the outage: \(node.daemon.log.suffix(2000))")
            let expires = try #require(expiry[node.name])
            print("\(node.name): cameras stopped \(String(format: "%.1f", stopped.timeIntervalSince(downAt))) s into the outage, "
                + "\(String(format: "%.2f", expires - stopped.timeIntervalSince1970)) s before its leases expired")
            #expect(stopped.timeIntervalSince1970 < expires, "\(node.name) watched its cameras past its leases' expiry")
            #expect(node.daemon.log.contains("no lease renewal before the deadline"))
            let reason = try #require(failing[node.name], "\(node.name): the cluster sink reported no failure during the outage")
            #expect(reason.hasPrefix("the cluster sink failed") && reason.contains("database \(name) on"), "\(reason)")
            #expect(!reason.contains("\n"))
        }
        print("the cluster sink during the outage: \(failing["n1"] ?? "")")
        #expect(statusScreen.contains("the cluster sink failed"), "vigil status: \(statusScreen)")
        #expect(notReady?.status == 503 && notReady?.body.contains("the cluster sink failed") == true, "/readyz: \(String(describing: notReady))")

        // The database is back: the nodes take cameras again and ship what waited.
        var watchedAgain: Duration?
        var caughtUp: Duration?
        let recovered = try await poll("cameras watched again and every local alert shipped", timeout: .seconds(60)) {
            let watched = nodes.compactMap(\.watching).reduce(into: Set<String>()) { $0.formUnion($1.cameras) }
            if watchedAgain == nil, watched == Set(cameras) { watchedAgain = clock.now - up }
            if caughtUp == nil {
                let local = nodes.flatMap { $0.committed.map(\.id) }
                let table = Set(try shipped().map(\.id))
                if local.allSatisfy(table.contains), nodes.allSatisfy({ $0.clusterSink?.failing == nil && $0.clusterSink?.backlog == 0 }) {
                    caughtUp = clock.now - up
                }
            }
            return watchedAgain != nil && caughtUp != nil
        }
        let seconds = { (time: Duration?) in time.map { String(format: "%.1f s", $0 / .seconds(1)) } ?? "-" }
        print("after the database returned: every camera watched again in \(seconds(watchedAgain)), "
            + "the cluster sinks caught up in \(seconds(caughtUp))")
        #expect(recovered)
        let ready = try await readiness()
        #expect(ready.status == 200, "/readyz after the return: \(ready)")

        // Every alert committed locally is in the table once, in its node's commit order per camera.
        let table = try shipped()
        let local = nodes.map(\.committed)
        let localIDs = Set(local.flatMap { $0.map(\.id) })
        #expect(table.count == Set(table.map(\.id)).count && local.allSatisfy { Set($0.map(\.id)).count == $0.count })
        #expect(table.allSatisfy { localIDs.contains($0.id) }, "the cluster table holds only alerts the nodes committed")
        let lost = local.flatMap { $0.map(\.id) }.filter { id in !table.contains { $0.id == id } }
        print("\(localIDs.count) alerts committed locally on \(nodes.count) nodes, \(table.count) in the cluster table, \(lost.count) lost")
        #expect(lost.isEmpty)
        let position = Dictionary(uniqueKeysWithValues: table.enumerated().map { ($0.element.id, $0.offset) })
        for (node, committed) in zip(nodes, local) {
            for camera in Set(committed.map(\.camera)) {
                let order = committed.filter { $0.camera == camera }.compactMap { position[$0.id] }
                #expect(order == order.sorted(), "\(node.name) \(camera): the cluster keeps the local commit order")
            }
        }
        for node in nodes {
            let exit = await node.daemon.terminate()
            #expect(exit?.status == 0, "\(node.name): \(node.daemon.log.suffix(2000))")
            #expect(!String(decoding: node.daemon.everythingWritten, as: UTF8.self).contains(Self.password))
            let status = FileManager.default.contents(atPath: node.state.path + "/" + StatusFile.name) ?? Data()
            #expect(!String(decoding: status, as: UTF8.self).contains(Self.password))
        }
    }

    @Test("a fleet node leaves no connection open when it stops: the cluster sink's pool is closed with the daemon")
    func closesTheSinkPool() async throws {
        let server = try FleetDatabase(), state = try TemporaryDirectory()
        let (postgres, name, files, urlFile) = (server.postgres, server.name, server.files, server.urlFile)
        try await ClusterDatabase.open(DatabaseURL(parsing: postgres.socketURL(database: name)), logger: Logger(label: "test")).close()
        let configPath = files.url.appendingPathComponent("vigil.yaml").path
        try "cluster:\n  database_url_file: \(urlFile)\n  node: n1\n  lease_seconds: 3\n".write(toFile: configPath, atomically: true, encoding: .utf8)
        let daemon = try Daemon(configuration: Daemon.Configuration(
            stateDirectory: StateDirectory(option: state.path), config: VigilConfig.load(path: configPath), configPath: configPath,
            reporter: Reporter.Configuration(alertLog: state.url.appendingPathComponent("alerts.jsonl"))), logger: Logger(label: "test"))
        let running = Task { try await daemon.run() }
        // The sink opens its pool at its first batch.
        let alert = StoreContract.alert("cam01", "shipped")
        try await daemon.queue.enqueue(alert)
        func count(_ sql: String) throws -> Int {
            Int(try postgres.psql(name, sql).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        let clock = ContinuousClock()
        var end = clock.now + .seconds(30)
        while try count("SELECT count(*) FROM alerts WHERE id = '\(alert.id)'") != 1, clock.now < end {
            try await clock.sleep(for: .milliseconds(100))
        }
        #expect(try count("SELECT count(*) FROM alerts") == 1, "the cluster sink shipped the alert")
        await daemon.triggerGracefulShutdown()
        try await running.value
        let others = "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(name)' AND pid <> pg_backend_pid()"
        end = clock.now + .seconds(5)
        while try count(others) != 0, clock.now < end {
            try await clock.sleep(for: .milliseconds(100))
        }
        #expect(try count(others) == 0, "connections left open by the stopped daemon")
    }
}
