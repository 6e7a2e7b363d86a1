import Foundation
import Logging
import Testing
import VigilDaemon
import VigilPostgres
import VigilReporter
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// A node's `cluster` sink: its local SQLite queue and alert log on a real file system, the cluster
/// table on a real PostgreSQL server that is stopped and started again.
@Suite("Cluster shipping", .serialized)
struct ClusterShippingTests {
    let logger = Logger(label: "test")

    /// The outage lasts 5 s here, not the issue's 60 s: what matters is that the local side goes on
    /// while the server is down and the shipper catches up once it is back, which a longer outage only repeats.
    @Test("alerts committed while PostgreSQL is down land in the cluster table once each by id, in commit order per camera")
    func shipsThroughAnOutage() async throws {
        let server = try PostgresServer()
        let name = try server.createDatabase()
        let url = try DatabaseURL(parsing: server.socketURL(database: name))
        let directory = try TemporaryDirectory()
        let queue = try AlertQueue(directory: StateDirectory(option: directory.path + "/state"), access: [.produce, .deliver])
        defer { queue.close() }
        let logger = logger
        try await ClusterDatabase.open(url, logger: logger).close()  // the schema, for the checks' psql
        let shipper = ClusterShippingSink(open: { try await ClusterDatabase.open(url, logger: logger) }, logger: logger)
        let alertLog = directory.url.appendingPathComponent("alerts.jsonl")
        var configuration = Reporter.Configuration(alertLog: alertLog)
        configuration.forwarders = [shipper]
        let reporter = try Reporter(queue: queue, configuration: configuration, logger: logger)
        let running = Task { try await reporter.run() }

        var sent: [Alert] = []
        func produce(_ count: Int, _ label: String) async throws {
            for number in 0..<count {
                let alert = StoreContract.alert("cam-\(number % 3)", "\(label) \(number)")
                #expect(try await queue.enqueue(alert) == .enqueued, "the local queue commits at once")
                sent.append(alert)
            }
        }
        func shipped() throws -> [(camera: String, id: String)] {
            try server.psql(name, "SELECT camera_id || '|' || id FROM alerts ORDER BY position")
                .split(separator: "\n").map { line in
                    let parts = line.split(separator: "|")
                    return (String(parts[0]), String(parts[1]))
                }
        }
        func poll(_ what: String, seconds: Double, _ condition: () throws -> Bool) async throws {
            let deadline = Date().addingTimeInterval(seconds)
            while try !condition() {
                guard Date() < deadline else { Issue.record("\(what) within \(seconds) s"); return }
                try await Task.sleep(for: .milliseconds(100))
            }
        }

        try await produce(30, "before")
        try await poll("the first alerts shipped", seconds: 30) { try shipped().count == 30 }

        try server.stop()
        let stopped = ContinuousClock.now
        try await produce(60, "during")
        #expect(queue.status().problem == nil, "the local queue does not notice the database")
        try await poll("every alert in the local alert log during the outage", seconds: 30) {
            let log = (try? String(contentsOf: alertLog, encoding: .utf8)) ?? ""
            return sent.allSatisfy { log.contains($0.id) }
        }
        // The outage's length (not a synchronisation): the cluster sink's insert waits on the pool meanwhile.
        try await Task.sleep(until: stopped + .seconds(5))
        try server.start()
        print("PostgreSQL was down for \(ContinuousClock.now - stopped)")
        let restarted = ContinuousClock.now
        try await poll("every alert shipped after the restart", seconds: 60) { try shipped().count >= sent.count }
        print("the cluster sink caught up \(ContinuousClock.now - restarted) after the restart")

        let rows = try shipped()
        #expect(rows.count == sent.count && Set(rows.map(\.id)) == Set(sent.map(\.id)), "every alert once, none lost")
        for camera in Set(sent.map(\.camera)) {
            #expect(rows.filter { $0.camera == camera }.map(\.id) == sent.filter { $0.camera == camera }.map(\.id),
                    "\(camera): the cluster keeps the local commit order")
        }

        // At least once: shipping a batch again (a crash before the acknowledgement) stores nothing new.
        let again = sent.enumerated().map { QueuedAlert(sequence: Int64($0.offset + 1), id: $0.element.id,
                                                        camera: $0.element.camera, kind: $0.element.kind,
                                                        line: $0.element.jsonLine()) }
        try await shipper.forward(again)
        #expect(try shipped().map(\.id) == rows.map(\.id))

        // `vigil alerts tail` with a cluster: config reads the fleet's table.
        let urlFile = directory.url.appendingPathComponent("database-url").path
        try server.socketURL(database: name).write(toFile: urlFile, atomically: true, encoding: .utf8)
        let config = directory.url.appendingPathComponent("vigil.yaml").path
        try "cluster:\n  database_url_file: \(urlFile)\n  node: node-a\n".write(toFile: config, atomically: true, encoding: .utf8)
        let tail = try runVigil(["alerts", "tail", "--config", config, "--json", "-n", "5", "--camera", "cam-1"])
        #expect(tail.status == 0, "\(tail.stderrText)")
        let tailed = tail.stdoutText.split(separator: "\n").compactMap { try? Alert(jsonLine: $0).id }
        #expect(tailed == sent.filter { $0.camera == "cam-1" }.suffix(5).map(\.id))

        reporter.stop()
        try await running.value
        await shipper.close()
    }
}
