import Foundation
import Logging
import PostgresNIO
import Testing
import VigilDaemon
import VigilPostgres
import VigilReporter
import VigilStore
import VigilTestSupport
import VigilTesting

/// The fleet's reporter on a real PostgreSQL server: two nodes' ``ReporterLease`` services, each with
/// its own pool and alert log, of which exactly one delivers at a time.
@Suite("Reporter lease", .serialized)
struct ReporterLeaseTests {
    let logger = Logger(label: "test")

    @Test("exactly one node delivers the fleet's alerts; when it stops, the other takes over from the sink positions")
    func oneNodeDelivers() async throws {
        let server = try PostgresServer()
        let url = try DatabaseURL(parsing: server.socketURL(database: try server.createDatabase()))
        let directory = try TemporaryDirectory()
        let producerDatabase = try await ClusterDatabase.open(url, logger: logger)
        let producer = ClusterAlertStore(database: producerDatabase, deliver: false, logger: logger)
        defer { producer.close() }
        let (nodes, logs) = reporters([url, url], in: directory)
        let tasks = nodes.map { node in Task { try await node.run() } }

        func logged(_ index: Int) -> String { (try? String(contentsOf: logs[index], encoding: .utf8)) ?? "" }
        let first = (0..<10).map { StoreContract.alert("cam-\($0 % 2)", "first \($0)") }
        for alert in first { try await producer.enqueue(alert) }
        try await poll("the first alerts delivered") { first.allSatisfy { logged(0).contains($0.id) || logged(1).contains($0.id) } }
        for _ in 0..<20 {
            #expect(nodes.filter(\.isDelivering).count == 1, "exactly one node delivers")
            try await Task.sleep(for: .milliseconds(100))
        }
        let holder = try #require(nodes.firstIndex { $0.isDelivering })
        let other = 1 - holder
        #expect(first.allSatisfy { logged(holder).contains($0.id) && !logged(other).contains($0.id) })

        tasks[holder].cancel()
        try await tasks[holder].value
        let stopped = ContinuousClock.now
        let second = (0..<10).map { StoreContract.alert("cam-\($0 % 2)", "second \($0)") }
        for alert in second { try await producer.enqueue(alert) }
        try await poll("the other node delivering the later alerts") { second.allSatisfy { logged(other).contains($0.id) } }
        print("the other node took over the fleet's sinks \(ContinuousClock.now - stopped) after the holder stopped")
        #expect(nodes[other].isDelivering && !nodes[holder].isDelivering)
        #expect(first.allSatisfy { !logged(other).contains($0.id) }, "delivered alerts are not delivered again after a clean stop")

        tasks[other].cancel()
        try await tasks[other].value
        await producerDatabase.close()
    }

    @Test("vigil run nodes: SIGKILL the node delivering to the webhook; the other takes over at once, every alert of the cluster delivered")
    func sigkillTakeover() async throws {
        let server = try FleetDatabase()
        let (postgres, name, files, urlFile) = (server.postgres, server.name, server.files, server.urlFile)
        let database = try await ClusterDatabase.open(DatabaseURL(parsing: postgres.socketURL(database: name)), logger: logger)
        let producer = ClusterAlertStore(database: database, deliver: false, logger: logger)
        defer { producer.close() }
        let rtsp = try RTSPTestServer(media: ["street": "two_crossings.mp4"])
        try FleetRunTests.addCameras(["cam01", "cam02"], url: rtsp.url("street"), to: postgres, database: name)
        let webhook = try WebhookTestServer(failFirst: 0)
        let names = ["n1", "n2"]
        var states: [TemporaryDirectory] = []
        var nodes: [DaemonProcess] = []
        for node in names {
            // Each node's webhook URL has a path of its own, so every request tells which node sent it.
            let hookFile = files.url.appendingPathComponent("\(node)-webhook-url").path
            try webhook.url(path: node).write(toFile: hookFile, atomically: true, encoding: .utf8)
            let config = try FleetRunTests.writeConfig(node: node, urlFile: urlFile, in: files, more: """
                reporter:
                  webhook:
                    url_file: \(hookFile)
                    initial_backoff: 0.2
                    max_backoff: 1
                """)
            states.append(try TemporaryDirectory())
            nodes.append(try DaemonProcess(state: states.last!.path, config: config))
        }
        // The cameras' alerts come and go with the looped clip; this stands for one more node shipping
        // an alert every 100 ms, so that there is always something to deliver.
        let feed = Task {
            var count = 0
            while !Task.isCancelled {
                count += 1
                _ = try? await producer.enqueue(StoreContract.alert("feed", "feed \(count)"))
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        func delivered() -> [WebhookTestServer.Request] { ((try? webhook.requests()) ?? []).filter { $0.status == 200 } }
        func sender(_ request: WebhookTestServer.Request) -> String { String(request.path.dropFirst()) }
        func stampedNode(_ request: WebhookTestServer.Request) -> String? {
            (try? JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any])?["node"] as? String
        }
        /// The backend holding the fleet reporter's advisory lock.
        func lockHolder() async throws -> Int32? {
            var pid: Int32?
            for try await value in try await database.client.query("""
                SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
                AND ((classid::bigint << 32) | objid::bigint) = \(ReporterLease.lockKey)
                """).decode(Int32.self) {
                pid = value
            }
            return pid
        }

        try await poll("an alert of a node's camera delivered to the webhook", seconds: 60) {
            delivered().contains { stampedNode($0).map(names.contains) == true }
        }
        let senders = Set(delivered().map(sender))
        #expect(senders.count == 1, "before the SIGKILL, alerts were delivered by \(senders)")
        let holder = try #require(names.firstIndex(of: senders.first ?? ""))
        let survivor = 1 - holder
        #expect(nodes[holder].log.contains("this node delivers the fleet's alerts"))
        #expect(!nodes[survivor].log.contains("this node delivers the fleet's alerts"))
        let lockPID = try #require(try await lockHolder())

        nodes[holder].kill()
        let killed = Date().timeIntervalSince1970
        let clock = ContinuousClock()
        let killedAt = clock.now
        var released: Duration?
        while released == nil, clock.now - killedAt < .seconds(30) {
            if try await lockHolder() != lockPID { released = clock.now - killedAt }
            try await Task.sleep(for: .milliseconds(5))
        }
        try await poll("the other node delivering to the webhook") {
            delivered().contains { sender($0) == names[survivor] }
        }
        let takeover = try #require(delivered().first { sender($0) == names[survivor] }).t - killed
        #expect(delivered().allSatisfy { sender($0) == names[holder] ? $0.t < killed + 0.5 : $0.t > killed },
                "requests from the killed node after the SIGKILL, or from the other before")
        try await Task.sleep(for: .seconds(1))
        feed.cancel()
        await feed.value

        var stored: [String] = []
        for try await id in try await database.client.query("SELECT id FROM alerts").decode(String.self) { stored.append(id) }
        try await poll("every alert of the cluster's table delivered to the webhook") {
            Set(stored).isSubset(of: delivered().compactMap(\.key))
        }
        let keys = delivered().compactMap(\.key)
        let missing = Set(stored).subtracting(keys)
        let cameraAlerts = delivered().filter { stampedNode($0) != nil }.count
        print("""
            fleet reporter, SIGKILL of the delivering node \(names[holder]): PostgreSQL released its lock \
            \(released.map { String(format: "%.3f s", $0 / .seconds(1)) } ?? "never") after; \(names[survivor]) delivered \
            \(String(format: "%.2f", takeover)) s after the SIGKILL; \(stored.count) alerts in the cluster (\(cameraAlerts) \
            deliveries of the cameras'), \(missing.count) lost, \(keys.count - Set(keys).count) delivered twice
            """)
        #expect(released.map { $0 < .milliseconds(500) } == true, "the lock of a killed node was released after \(String(describing: released))")
        #expect(takeover < 3, "the other node took \(takeover) s to deliver")
        #expect(missing.isEmpty, "never delivered: \(missing.sorted())")
        let exit = await nodes[survivor].terminate()
        #expect(exit?.status == 0, "\(nodes[survivor].log.suffix(2000))")
        await database.close()
    }

    @Test("the delivering node cut off from the database (TCP fault proxy) stops delivering; the server frees the lock for the other")
    func partitionedHolder() async throws {
        let server = try PostgresServer(listenOnTCP: true)
        let name = try server.createDatabase()
        let proxy = try TCPFaultProxy(target: server.port)
        let direct = try DatabaseURL(parsing: server.socketURL(database: name))
        let urls = [try DatabaseURL(parsing: server.tcpURL(database: name, port: proxy.port)), direct]
        let directory = try TemporaryDirectory()
        let producerDatabase = try await ClusterDatabase.open(direct, logger: logger)
        let producer = ClusterAlertStore(database: producerDatabase, deliver: false, logger: logger)
        defer { producer.close() }
        let (nodes, logs) = reporters(urls, in: directory)
        let cutOff = Task { try await nodes[0].run() }
        try await poll("the node behind the proxy delivering") { nodes[0].isDelivering }
        let other = Task { try await nodes[1].run() }
        for _ in 0..<10 {
            #expect(!nodes[1].isDelivering, "two nodes deliver")
            try await Task.sleep(for: .milliseconds(100))
        }
        try proxy.cut()
        let clock = ContinuousClock()
        let cut = clock.now
        var stopped: Duration?
        var taken: Duration?
        var both = 0
        while taken == nil, clock.now - cut < .seconds(20) {
            if stopped == nil, !nodes[0].isDelivering { stopped = clock.now - cut }
            if nodes[1].isDelivering { taken = clock.now - cut }
            if nodes[0].isDelivering && nodes[1].isDelivering { both += 1 }
            try await Task.sleep(for: .milliseconds(20))
        }
        print("the delivering node cut off from the database stopped delivering after \(stopped.map { "\($0)" } ?? "never"); the other delivers after \(taken.map { "\($0)" } ?? "never") (check every 0.2 s)")
        let stop = try #require(stopped, "the cut-off node still delivers")
        let take = try #require(taken, "the lock of the cut-off node was never freed")
        #expect(stop < take && both == 0, "both nodes delivered at \(both) samples")
        // No answer within two checks: it stops; the server ends its session after five checks of silence.
        #expect(stop < .seconds(1) && take < .seconds(2), "stopped after \(stop), taken over after \(take)")
        let alert = StoreContract.alert("cam", "after the cut")
        try await producer.enqueue(alert)
        try await poll("the other node delivering a new alert") {
            ((try? String(contentsOf: logs[1], encoding: .utf8)) ?? "").contains(alert.id)
        }
        try proxy.pass()
        for task in [other, cutOff] {
            task.cancel()
            try await task.value
        }
        await producerDatabase.close()
    }

    @Test("the database restarts between two checks of the holder: afterwards exactly one node delivers")
    func restartedDatabase() async throws {
        let server = try PostgresServer()
        let url = try DatabaseURL(parsing: server.socketURL(database: try server.createDatabase()))
        let directory = try TemporaryDirectory()
        let (nodes, logs) = reporters([url, url], in: directory)
        let tasks = nodes.map { node in Task { try await node.run() } }
        try await poll("a node delivering") { nodes.contains(where: \.isDelivering) }
        try server.stop()
        try server.start()
        // The holder's connection closed while idle: its next check must fail, not wait for ever.
        var samples = 0
        try await poll("exactly one node delivering for 20 samples in a row after the restart") {
            samples = nodes.filter(\.isDelivering).count == 1 ? samples + 1 : 0
            return samples >= 20
        }
        let producerDatabase = try await ClusterDatabase.open(url, logger: logger)
        let producer = ClusterAlertStore(database: producerDatabase, deliver: false, logger: logger)
        defer { producer.close() }
        let alert = StoreContract.alert("cam", "after the restart")
        try await producer.enqueue(alert)
        try await poll("the alert delivered") {
            logs.contains { ((try? String(contentsOf: $0, encoding: .utf8)) ?? "").contains(alert.id) }
        }
        for task in tasks {
            task.cancel()
            try await task.value
        }
        await producerDatabase.close()
    }

    /// In-process nodes' fleet reporters, one on each URL, each with its own alert log in `directory`;
    /// they try for the lock and check it every 0.2 s.
    func reporters(_ urls: [DatabaseURL], in directory: TemporaryDirectory) -> (nodes: [ReporterLease], logs: [URL]) {
        let logger = logger
        let logs = urls.indices.map { directory.url.appendingPathComponent("node\($0).jsonl") }
        let nodes = zip(urls, logs).map { url, log in
            ReporterLease(open: { try await ClusterDatabase.open(url, logger: logger) },
                          configuration: Reporter.Configuration(alertLog: log),
                          retryInterval: .milliseconds(200), checkInterval: .milliseconds(200), logger: logger)
        }
        return (nodes, logs)
    }

    /// Waits until `condition` holds (checked every 50 ms); records an issue after `seconds`.
    func poll(_ what: String, seconds: Double = 30, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try await !condition() {
            guard Date() < deadline else { Issue.record("\(what) within \(seconds) s"); return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
