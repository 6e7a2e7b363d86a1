import ArgumentParser
import Foundation
import VigilPipeline
import VigilPostgres

/// `vigil cluster simulate`: nodes without video running lease rounds against the cluster database
/// (see ``LeaseSimulation``); prints the database load and the takeover time.
struct ClusterSimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Measure the fleet's lease rounds on a database: queries/s, renewal latency, takeover time.",
        discussion: "Runs --nodes nodes without video in this process against the database of the config's "
            + "cluster.database_url_file, which must hold no real camera (use an empty database of its own). "
            + "Adds --cameras cameras, lets the nodes settle, measures --seconds of steady state, stops one node "
            + "and times until the others hold its cameras, then removes what it added."
    )

    @Option(help: "The YAML config file whose cluster.database_url_file names the (scratch) database.")
    var config: String

    @Option(help: "Simulated nodes (1-1000).")
    var nodes = 10

    @Option(help: "Simulated cameras (1-100000).")
    var cameras = 1000

    @Option(help: "Seconds of steady state to measure (5-3600).")
    var seconds = 30.0

    @Option(name: .customLong("lease-seconds"), help: "The lease length the nodes run with (3-600); default: the config's.")
    var leaseSeconds: Double?

    @Flag(help: "Print the figures as one JSON object.")
    var json = false

    func validate() throws {
        try checkRange("--nodes", nodes, 1...1000)
        try checkRange("--cameras", cameras, 1...100_000)
        try checkRange("--seconds", seconds, 5...3600, unit: "seconds")
        if let leaseSeconds { try checkRange("--lease-seconds", leaseSeconds, 3...600, unit: "seconds") }
    }

    func run() async throws {
        try await reportingFailures {
            let result = try await withCluster(config: config) { settings, database throws(ClusterError) in
                try await LeaseSimulation.run(database: database, nodes: nodes, cameras: cameras,
                                              leaseSeconds: leaseSeconds ?? settings.leaseSeconds,
                                              seconds: seconds, logger: quietLogger)
            }
            if json {
                try printClusterJSON(result)
                return
            }
            let f = { (value: Double) in String(format: "%.1f", value) }
            print("""
                \(result.nodes) nodes, \(result.cameras) cameras, lease_seconds \(f(result.leaseSeconds))
                settled in \(f(result.settleSeconds)) s
                \(f(result.queriesPerSecond)) queries/s over \(f(result.measuredSeconds)) s (\(result.rounds) rounds)
                renewal round p50 \(f(result.renewalP50Milliseconds)) ms, p99 \(f(result.renewalP99Milliseconds)) ms
                takeover of a stopped node's cameras: \(f(result.takeoverSeconds)) s
                """)
        }
    }
}
