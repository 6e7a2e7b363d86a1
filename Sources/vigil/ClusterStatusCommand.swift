import ArgumentParser
import Foundation
import VigilPipeline
import VigilPostgres

/// `vigil cluster status`: the fleet's nodes (alive, capacity, cameras held, last heartbeat), the
/// cameras no node holds, and the leases about to expire, read from the cluster database.
struct ClusterStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the fleet: nodes, cameras held, cameras without an owner, leases about to expire.",
        discussion: "Reads the cluster database named by the config's cluster.database_url_file. A node is alive "
            + "when its last heartbeat is within cluster.lease_seconds; a lease is about to expire with less than "
            + "half of lease_seconds left (its node missed a renewal). Exits 3 when enabled cameras have no owner."
    )

    @Option(help: "The YAML config file with the cluster section (database_url_file, lease_seconds).")
    var config: String

    @Flag(help: "Print the fleet's state as one JSON object instead of the tables.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let status = try await withCluster(config: config) { settings, database throws(ClusterError) in
                try await LeaseStatus.read(from: database, leaseSeconds: settings.leaseSeconds)
            }
            if json {
                try printClusterJSON(status)
            } else {
                print(Self.text(status))
            }
            if !status.unowned.isEmpty { throw ExitCode(3) }
        }
    }

    static func text(_ status: LeaseStatus) -> String {
        let widths = [20, 7, 10, 9, 16]
        var lines = [tableRow(["NODE", "ALIVE", "CAPACITY", "CAMERAS", "LAST HEARTBEAT"], widths: widths)]
        for node in status.nodes {
            lines.append(tableRow([node.name, node.alive ? "yes" : "no", "\(node.capacity)", "\(node.cameras)",
                                   String(format: "%.1f s ago", node.secondsSinceSeen)], widths: widths))
        }
        if status.nodes.isEmpty { lines.append("(no node has joined)") }
        lines.append("")
        lines.append(status.unowned.isEmpty ? "every enabled camera has an owner"
                     : "\(status.unowned.count) cameras without an owner: \(status.unowned.joined(separator: ", "))")
        if status.expiring.isEmpty {
            lines.append("no lease about to expire")
        } else {
            lines.append("leases about to expire:")
            for lease in status.expiring {
                lines.append("  \(lease.camera) on \(lease.node) (epoch \(lease.epoch)): \(String(format: "%.1f", lease.secondsLeft)) s left")
            }
        }
        return lines.joined(separator: "\n")
    }
}
