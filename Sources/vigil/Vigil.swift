import ArgumentParser

/// The `vigil` command: a motion-alert daemon for city cameras and its tools.
@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Motion alerts from city cameras: decode, detect, alert.",
        version: "vigil \(BuildInfo.version) (commit \(BuildInfo.commit))",
        subcommands: [RunCommand.self, ReplayCommand.self, EvalCommand.self, CameraCommand.self, RegisterCommand.self,
                      AlertsCommand.self, StatusCommand.self, EvidenceCommand.self, ReportCommand.self, BenchCommand.self,
                      QueueBenchCommand.self, ClusterCommand.self]
    )
}
