import Foundation
import Logging
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
        let logger = logger
        let producerDatabase = try await ClusterDatabase.open(url, logger: logger)
        let producer = ClusterAlertStore(database: producerDatabase, deliver: false, logger: logger)
        defer { producer.close() }
        let logs = ["a", "b"].map { directory.url.appendingPathComponent("\($0).jsonl") }
        let nodes = logs.map { log in
            ReporterLease(open: { try await ClusterDatabase.open(url, logger: logger) },
                          configuration: Reporter.Configuration(alertLog: log),
                          retryInterval: .milliseconds(200), checkInterval: .milliseconds(200), logger: logger)
        }
        let tasks = nodes.map { node in Task { try await node.run() } }

        func logged(_ index: Int) -> String { (try? String(contentsOf: logs[index], encoding: .utf8)) ?? "" }
        func poll(_ what: String, seconds: Double = 30, _ condition: () -> Bool) async throws {
            let deadline = Date().addingTimeInterval(seconds)
            while !condition() {
                guard Date() < deadline else { Issue.record("\(what) within \(seconds) s"); return }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
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
}
