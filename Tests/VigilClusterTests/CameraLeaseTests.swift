import Foundation
import Logging
import Testing
@testable import VigilPostgres
import VigilTesting

/// Camera leases between in-process nodes (no video) on a real PostgreSQL server: one owner per
/// camera, shares by capacity, handover when a node joins, takeover after expiry, fencing epochs,
/// and a node cut off from the database giving its cameras up before they expire.
@Suite("Camera leases", .serialized)
struct CameraLeaseTests {
    let logger = Logger(label: "test")

    /// A fresh database with `count` enabled cameras `cam01`... and one disabled `off`.
    private func cluster(_ server: PostgresServer, cameras count: Int) async throws -> (String, ClusterDatabase) {
        let name = try server.createDatabase()
        let database = try await ClusterDatabase.open(DatabaseURL(parsing: server.socketURL(database: name)), logger: logger)
        let values = (1...count).map { String(format: "('cam%02d', true, false, '{}')", $0) }.joined(separator: ",")
        try server.psql(name, "INSERT INTO cameras (id, enabled, is_public, record) VALUES \(values), ('off', false, false, '{}')")
        return (name, database)
    }

    private func node(_ name: String, _ database: ClusterDatabase, capacity: Int, leaseSeconds: Double) -> CameraLeases {
        CameraLeases(database: database, node: name, capacity: capacity, leaseSeconds: leaseSeconds, logger: logger)
    }

    /// Expects every lease of `after` to have a higher epoch than the same camera had in `before`.
    private func expectEpochsGrew(from before: [CameraLease], to after: [CameraLease]) {
        let epochs = Dictionary(uniqueKeysWithValues: before.map { ($0.cameraID, $0.epoch) })
        for lease in after {
            #expect(lease.epoch > epochs[lease.cameraID] ?? .max, "\(lease.cameraID): epoch \(lease.epoch)")
        }
    }

    private func owners(_ server: PostgresServer, _ name: String) throws -> [String: String] {
        let rows = try server.psql(name, "SELECT camera_id, node FROM leases WHERE node IS NOT NULL")
        return Dictionary(uniqueKeysWithValues: rows.split(separator: "\n").map {
            let parts = $0.split(separator: "|").map(String.init)
            return (parts[0], parts[1])
        })
    }

    /// Runs rounds of every node concurrently, each node releasing its surplus right after its round
    /// (as a node does once the surplus cameras' workers stopped), until the shares hold; checks at
    /// every step that no camera is kept by two nodes. Returns each node's kept set.
    private func settle(_ nodes: [CameraLeases], cameras: Int) async throws -> [String: [CameraLease]] {
        var held: [String: [CameraLease]] = [:]
        for _ in 0..<20 {
            let rounds = try await withThrowingTaskGroup(of: (String, LeaseRound).self) { group in
                for node in nodes {
                    group.addTask {
                        let round = try await node.balance()
                        try await node.release(round.surplus.map(\.cameraID))
                        return (node.node, round)
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            var seen: [String: String] = [:]
            for (node, round) in rounds {
                // The surplus was stopped and released: another node may claim it in the same batch.
                held[node] = Array(round.held.dropLast(round.surplus.count))
                for lease in held[node] ?? [] {
                    #expect(seen[lease.cameraID] == nil, "\(lease.cameraID) held by \(node) and \(seen[lease.cameraID] ?? "")")
                    seen[lease.cameraID] = node
                }
            }
            if rounds.values.allSatisfy({ $0.surplus.isEmpty && $0.held.count == $0.share }),
               rounds.values.reduce(0, { $0 + $1.share }) == cameras {
                return held
            }
        }
        Issue.record("the leases did not settle in 20 rounds: \(held.mapValues(\.count))")
        return held
    }

    @Test("shares follow capacity with largest remainders and add up to the cameras")
    func shares() {
        let nodes = [(name: "a", capacity: 20), (name: "b", capacity: 10), (name: "c", capacity: 10)]
        #expect(nodes.map { CameraLeases.share(of: $0.name, among: nodes, cameras: 12) } == [6, 3, 3])
        #expect(nodes.map { CameraLeases.share(of: $0.name, among: nodes, cameras: 5) } == [3, 1, 1])
        let equal = [(name: "c", capacity: 10), (name: "a", capacity: 10), (name: "b", capacity: 10)]
        #expect(equal.map { CameraLeases.share(of: $0.name, among: equal, cameras: 5) } == [1, 2, 2])
        // Never above a node's own capacity, even when the cameras do not fit.
        #expect(CameraLeases.share(of: "a", among: [(name: "a", capacity: 4)], cameras: 12) == 4)
        #expect(CameraLeases.share(of: "x", among: nodes, cameras: 12) == 0)
    }

    @Test("three nodes spread twelve cameras by capacity, each held by exactly one node; disabled ones by none")
    func spreadByCapacity() async throws {
        let server = try PostgresServer()
        let (name, database) = try await cluster(server, cameras: 12)
        let nodes = [("a", 20), ("b", 10), ("c", 10)].map { node($0.0, database, capacity: $0.1, leaseSeconds: 10) }
        let held = try await settle(nodes, cameras: 12)
        #expect(held.mapValues(\.count) == ["a": 6, "b": 3, "c": 3])
        let owners = try owners(server, name)
        #expect(owners.count == 12 && owners["off"] == nil)
        for (node, leases) in held {
            for lease in leases { #expect(owners[lease.cameraID] == node) }
        }
        let status = try await LeaseStatus.read(from: database, leaseSeconds: 10)
        #expect(status.nodes.map { "\($0.name):\($0.alive):\($0.capacity):\($0.cameras)" } == ["a:true:20:6", "b:true:10:3", "c:true:10:3"])
        #expect(status.unowned.isEmpty && status.expiring.isEmpty)
        try await nodes[2].leave()
        let left = try await LeaseStatus.read(from: database, leaseSeconds: 10)
        #expect(left.nodes.map(\.name) == ["a", "b"] && left.unowned.count == 3, "\(left)")
        await database.close()
    }

    @Test("a joining node gets its share only after the owner released it, with a higher epoch")
    func handoverOnJoin() async throws {
        let server = try PostgresServer()
        let (_, database) = try await cluster(server, cameras: 12)
        let (a, b) = (node("a", database, capacity: 100, leaseSeconds: 10), node("b", database, capacity: 100, leaseSeconds: 10))
        let first = try await a.balance()
        #expect(first.held.count == 12 && first.surplus.isEmpty)
        let joined = try await b.balance()
        #expect(joined.held.isEmpty && joined.share == 6, "b took cameras a still holds: \(joined.held)")
        let second = try await a.balance()
        #expect(second.share == 6 && second.surplus.count == 6)
        let early = try await b.balance()
        #expect(early.held.isEmpty, "b took cameras before a released them")
        try await a.release(second.surplus.map(\.cameraID))
        let taken = try await b.balance()
        #expect(Set(taken.held.map(\.cameraID)) == Set(second.surplus.map(\.cameraID)))
        expectEpochsGrew(from: first.held, to: taken.held)
        let kept = try await a.balance()
        #expect(kept.held.count == 6 && kept.surplus.isEmpty && Set(kept.held).isDisjoint(with: Set(taken.held)))
        await database.close()
    }

    @Test("a node that stops renewing loses its cameras to the others once the leases expired, not before")
    func takeoverAfterExpiry() async throws {
        let server = try PostgresServer()
        let (_, database) = try await cluster(server, cameras: 6)
        let (dead, survivor) = (node("dead", database, capacity: 6, leaseSeconds: 3), node("survivor", database, capacity: 6, leaseSeconds: 3))
        let last = try await dead.balance()
        let lastRenewal = ContinuousClock.now
        #expect(last.held.count == 6)
        var round = try await survivor.balance()
        let clock = ContinuousClock()
        while round.held.count < 6, clock.now < lastRenewal + .seconds(10) {
            #expect(round.held.isEmpty || clock.now >= lastRenewal + .seconds(3) - .milliseconds(200),
                    "taken \(clock.now - lastRenewal) after the last renewal, before the lease expired")
            try await clock.sleep(for: .milliseconds(100))
            round = try await survivor.balance()
        }
        let takeover = clock.now - lastRenewal
        print("lease takeover: \(takeover) after the owner's last renewal (lease_seconds 3)")
        #expect(round.held.count == 6, "the survivor holds \(round.held.count) of 6 after \(takeover)")
        #expect(takeover < .seconds(5))
        expectEpochsGrew(from: last.held, to: round.held)
        await database.close()
    }

    @Test("a node cut off from the database reaches its own deadline before its leases expire on the server")
    func lostBeforeExpiry() async throws {
        let server = try PostgresServer()
        let (name, database) = try await cluster(server, cameras: 4)
        let node = node("a", database, capacity: 4, leaseSeconds: 3)
        let round = try await node.balance()
        #expect(round.held.count == 4)
        let expiries = try server.psql(name, "SELECT extract(epoch FROM min(expires_at)) FROM leases WHERE node = 'a'")
        let expiry = try #require(Double(expiries.trimmingCharacters(in: .whitespacesAndNewlines)))
        try server.stop()
        let renewal = Task { try await node.balance() }
        try await ContinuousClock().sleep(until: round.deadline)
        let lostAt = Date().timeIntervalSince1970
        print("cameras given up \(String(format: "%.2f", expiry - lostAt)) s before their leases expire")
        #expect(lostAt < expiry - 0.5, "the node's deadline is \(lostAt - expiry) s after the leases' expiry")
        renewal.cancel()
        try server.start()
        _ = await renewal.result
        await database.close()
    }

    @Test("the simulation measures load and takeover with nodes without video, refuses real cameras, and cleans up")
    func simulation() async throws {
        let server = try PostgresServer()
        let (name, database) = try await cluster(server, cameras: 1)
        await #expect(throws: ClusterError.self) {
            try await LeaseSimulation.run(database: database, nodes: 2, cameras: 10, leaseSeconds: 3, seconds: 1, logger: logger)
        }
        try server.psql(name, "DELETE FROM cameras")
        let result = try await LeaseSimulation.run(database: database, nodes: 3, cameras: 30, leaseSeconds: 3, seconds: 3, logger: logger)
        print("simulation, 3 nodes x 30 cameras: \(result)")
        #expect(result.rounds >= 6 && result.queriesPerSecond > 0 && result.renewalP99Milliseconds > 0)
        #expect(result.takeoverSeconds > 1 && result.takeoverSeconds < 3 + 1 + 2, "takeover \(result.takeoverSeconds) s")
        let left = try server.psql(name, "SELECT (SELECT count(*) FROM cameras) + (SELECT count(*) FROM nodes)")
        #expect(left.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        await database.close()
    }
}
