import Foundation
import Logging
import PostgresNIO
import Synchronization

/// `vigil cluster simulate`: nodes without video running real ``CameraLeases`` rounds against a
/// database, to measure what the fleet costs the database and how fast a dead node's cameras move.
///
/// It adds `cameras` cameras `sim-NNNNN` and runs `nodes` nodes `sim-node-NNN` in this process (they
/// share this process's connection pool of ``ClusterDatabase``), lets them settle, measures the
/// steady state for `seconds`, then stops one node and times until the others hold all its cameras.
/// It removes what it added at the end. It refuses a database that holds real cameras.
public enum LeaseSimulation {
    /// What a simulation measured.
    public struct Result: Sendable, Codable, Equatable {
        public let nodes: Int
        public let cameras: Int
        public let leaseSeconds: Double
        /// Seconds from the start until every camera had an owner and every node its share.
        public let settleSeconds: Double
        /// The steady state's length and what the rounds sent in it.
        public let measuredSeconds: Double
        public let rounds: Int
        public let queriesPerSecond: Double
        /// A round's duration (heartbeat, renewals, any claim: one transaction), in milliseconds.
        public let renewalP50Milliseconds: Double
        public let renewalP99Milliseconds: Double
        /// From stopping one node until the others held every one of its cameras.
        public let takeoverSeconds: Double
    }

    public static func run(database: ClusterDatabase, nodes count: Int, cameras: Int, leaseSeconds: Double,
                           seconds: Double, logger: Logger) async throws(ClusterError) -> Result {
        do {
            for try await foreign in try await database.client.query(
                "SELECT count(*) FROM cameras WHERE id NOT LIKE 'sim-%'").decode(Int.self) where foreign > 0 {
                throw ClusterError(.database, "the cluster \(database.url) holds \(foreign) real cameras; "
                                   + "simulate against a database of its own (an empty one)")
            }
            try await cleanUp(database)
            try await database.client.query("""
                INSERT INTO cameras (id, enabled, is_public, record)
                SELECT 'sim-' || lpad(n::text, 5, '0'), true, false, '{}' FROM generate_series(1, \(cameras)) n
                """)
        } catch let error as ClusterError {
            throw error
        } catch {
            throw ClusterError(doing: "cannot prepare the simulation in the cluster \(database.url)", error)
        }
        let nodes = (0..<count).map {
            CameraLeases(database: database, node: String(format: "sim-node-%03d", $0), capacity: 10_000,
                         leaseSeconds: leaseSeconds, logger: logger)
        }
        let figures = Figures()
        let clock = ContinuousClock()
        let start = clock.now
        let result: Result
        do {
            result = try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, node) in nodes.enumerated() {
                    group.addTask {
                        // Rounds start spread over the interval, as nodes started at different times would.
                        try await clock.sleep(for: node.roundInterval * Double(index) / Double(max(1, count)))
                        while !Task.isCancelled {
                            let began = clock.now
                            if index == 0, figures.withLock({ $0.firstStopped }) { return }
                            let round = try await node.balance()
                            try await node.release(round.surplus.map(\.cameraID))
                            let took = clock.now - began
                            figures.withLock { figures in
                                if round.surplus.isEmpty && round.held.count == round.share { figures.settled.insert(index) }
                                guard figures.measuring else { return }
                                figures.rounds += 1
                                figures.statements += round.statements + (round.surplus.isEmpty ? 0 : 1)
                                figures.latencies.append(took)
                            }
                            try await clock.sleep(until: began + node.roundInterval)
                        }
                    }
                }
                let settled = try await waitFor(clock: clock, timeout: .seconds(leaseSeconds * 10 + 60)) {
                    try await owned(database, except: nil) == cameras && figures.withLock { $0.settled.count } == count
                }
                guard settled else {
                    throw ClusterError(.database, "the simulated nodes did not settle within \(Int(leaseSeconds * 10 + 60)) s")
                }
                let settleSeconds = (clock.now - start) / .seconds(1)
                figures.withLock { $0.measuring = true }
                let measureStart = clock.now
                try await clock.sleep(for: .seconds(seconds))
                let measured = (clock.now - measureStart) / .seconds(1)
                let (rounds, statements, latencies) = figures.withLock { figures in
                    figures.measuring = false
                    return (figures.rounds, figures.statements, figures.latencies.sorted())
                }
                figures.withLock { $0.firstStopped = true }
                let stopped = clock.now
                let tookOver = try await waitFor(clock: clock, timeout: .seconds(leaseSeconds * 4 + 30)) {
                    try await owned(database, except: nodes[0].node) == cameras
                }
                guard tookOver else { throw ClusterError(.database, "the other nodes did not take the stopped node's cameras over") }
                let takeover = (clock.now - stopped) / .seconds(1)
                group.cancelAll()
                func percentile(_ p: Double) -> Double {
                    guard !latencies.isEmpty else { return 0 }
                    return latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] / .milliseconds(1)
                }
                return Result(nodes: count, cameras: cameras, leaseSeconds: leaseSeconds, settleSeconds: settleSeconds,
                              measuredSeconds: measured, rounds: rounds, queriesPerSecond: Double(statements) / measured,
                              renewalP50Milliseconds: percentile(0.5), renewalP99Milliseconds: percentile(0.99),
                              takeoverSeconds: takeover)
            }
        } catch {
            try? await cleanUp(database)
            if let error = error as? ClusterError { throw error }
            throw ClusterError(doing: "the simulation failed in the cluster \(database.url)", error)
        }
        try await cleanUp(database)
        return result
    }

    /// What the simulated nodes' rounds count, shared between their tasks.
    private final class Figures: Sendable {
        struct State {
            var measuring = false
            var rounds = 0
            var statements = 0
            var latencies: [Duration] = []
            /// Nodes whose last round found them at their share.
            var settled: Set<Int> = []
            /// The first node stops its rounds (as if it died).
            var firstStopped = false
        }
        private let state = Mutex(State())

        func withLock<T: Sendable>(_ body: (inout State) -> T) -> T {
            state.withLock { body(&$0) }
        }
    }

    /// Cameras held by a node other than `except`, with leases not expired.
    private static func owned(_ database: ClusterDatabase, except node: String?) async throws -> Int {
        var count = 0
        for try await held in try await database.client.query("""
            SELECT count(*) FROM leases WHERE node IS NOT NULL AND node IS DISTINCT FROM \(node) AND expires_at > now()
            """).decode(Int.self) {
            count = held
        }
        return count
    }

    private static func waitFor(clock: ContinuousClock, timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
        let end = clock.now + timeout
        while clock.now < end {
            if try await condition() { return true }
            try await clock.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Removes the simulation's cameras (their leases go with them) and nodes.
    private static func cleanUp(_ database: ClusterDatabase) async throws(ClusterError) {
        do {
            try await database.client.query("DELETE FROM cameras WHERE id LIKE 'sim-%'")
            try await database.client.query("DELETE FROM nodes WHERE name LIKE 'sim-node-%'")
        } catch {
            throw ClusterError(doing: "cannot remove the simulation's rows from the cluster \(database.url)", error)
        }
    }
}
