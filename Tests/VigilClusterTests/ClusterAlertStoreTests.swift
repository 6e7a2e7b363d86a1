import Foundation
import Logging
import Synchronization
import Testing
import VigilPostgres
import VigilStore
import VigilTestSupport
import VigilTesting

/// The fleet's alert store on a real PostgreSQL server: the queue part of ``StoreContract`` (the
/// same checks the SQLite queue passes), and commits of another node waking a sink through LISTEN.
@Suite("Cluster alert store", .serialized)
struct ClusterAlertStoreTests {
    let logger = Logger(label: "test")

    static let queueChecks = StoreContract.checks.filter { $0.description.hasPrefix("queue:") }

    @Test("the cluster store passes each queue check of the store contract", arguments: queueChecks)
    func contract(_ check: StoreContract.Check) async throws {
        let server = try PostgresServer()
        let opened = Mutex<[(ClusterAlertStore, ClusterDatabase)]>([])
        let logger = logger
        @Sendable func open(_ url: String) async throws -> ClusterAlertStore {
            let database = try await ClusterDatabase.open(try DatabaseURL(parsing: url), logger: logger)
            let store = ClusterAlertStore(database: database, deliver: true, logger: logger)
            opened.withLock { $0.append((store, database)) }
            return store
        }
        let backend = StoreBackend(
            "PostgreSQL",
            makeRegistry: { throw SupportError("the registry checks run in the registry's own suite") },
            makeQueue: {
                let url = server.socketURL(database: try server.createDatabase())
                return (try await open(url), url)
            },
            reopen: { queue, url in
                let store = try #require(queue as? ClusterAlertStore)
                store.close()
                await store.database.close()
                return try await open(url)
            })
        try await check.run(backend)
        for (store, database) in opened.withLock({ $0 }) {
            store.close()
            await database.close()
        }
    }

    @Test("another node's commit wakes a waiting sink through LISTEN, also after the database restarted")
    func otherNodesCommitWakes() async throws {
        let server = try PostgresServer()
        let url = try DatabaseURL(parsing: server.socketURL(database: try server.createDatabase()))
        let producerDatabase = try await ClusterDatabase.open(url, logger: logger)
        let consumerDatabase = try await ClusterDatabase.open(url, logger: logger)
        let producer = ClusterAlertStore(database: producerDatabase, deliver: false, logger: logger)
        let consumer = ClusterAlertStore(database: consumerDatabase, deliver: true, logger: logger)
        defer { producer.close(); consumer.close() }
        let position = try #require(try await consumer.registerSinks(["log"])["log"])

        func expectWoken(by message: String) async throws {
            let seen = consumer.commitCount
            let waiter = Task {
                let started = ContinuousClock.now
                await consumer.waitForCommit(after: seen, timeout: .seconds(60))
                return ContinuousClock.now - started
            }
            // The listener may still be subscribing (after a restart): enqueue until the wait ends.
            let alert = StoreContract.alert("cam", message)
            try await producer.enqueue(alert)
            let waited = await waiter.value
            #expect(waited < .seconds(30), "\(message): woken by the other node's commit, not the timeout (\(waited))")
            #expect(try await consumer.alerts(after: position, limit: 100).map(\.id).contains(alert.id))
        }
        try await expectWoken(by: "first")

        try server.stop()
        await #expect(throws: QueueError.self) { try await producer.enqueue(StoreContract.alert("cam", "lost")) }
        try server.start()
        // Both pools reconnect on their own; the first enqueue after the restart may still fail.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if (try? await producer.alerts(after: 0, limit: 1)) != nil { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        try await expectWoken(by: "after restart")

        let lines = try await consumer.alerts(after: position, limit: 100)
        #expect(lines.allSatisfy { (try? Alert(jsonLine: $0.line).jsonLine()) == $0.line },
                "each stored alert comes back as its own JSON line")
        await producerDatabase.close()
        await consumerDatabase.close()
    }
}
