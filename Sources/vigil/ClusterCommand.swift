import ArgumentParser

/// `vigil cluster`: fleet mode, several servers on one PostgreSQL database (docs/cluster.md).
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Fleet mode: several servers sharing one PostgreSQL database.",
        subcommands: [ClusterMigrateCommand.self]
    )
}
