import ArgumentParser
import Foundation
import Logging
import VigilDaemon
import UnixSignals
import VigilIngest
import VigilPipeline

/// `vigil run`: the daemon. Watches every enabled camera of the registry, each on its own thread,
/// raises alerts into the durable queue and delivers them to the alert log and the other sinks.
/// SIGTERM or SIGINT stops it within 5 s (open events are closed, the queue is flushed, exit 0);
/// SIGHUP re-reads the config and the registry and reopens the alert log. The daemon itself is
/// composed in `VigilDaemon.Daemon`; this command parses the arguments and sets up logging.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon: watch every enabled camera of the registry and raise alerts."
    )

    @OptionGroup var log: AlertLogOption
    @OptionGroup var sinks: SinkOptions

    @Option(help: "A YAML config file (detector, cameras, reporter and daemon sections).")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        try await reportingFailures {
            let loaded = try loadConfig(config)
            let level = logLevel
            let timestamps = isatty(STDERR_FILENO) == 1
            LoggingSystem.bootstrap { JournalLogHandler(label: $0, level: level, timestamps: timestamps) }
            FFmpegLog.route(to: Logger(label: "vigil.ffmpeg"), level: .error)
            let daemon: Daemon
            do {
                daemon = try Daemon(configuration: Daemon.Configuration(
                    stateDirectory: log.state.directory, config: loaded, configPath: config,
                    reporter: sinks.configuration(alertLog: log, settings: loaded.reporter),
                    notifier: SystemdNotifier(), gracefulShutdownSignals: [.sigterm, .sigint], reloadOnHangup: true),
                    logger: Logger(label: "vigil"))
            } catch let error as DaemonError {
                throw Failure(error.description)
            }
            do {
                try await daemon.run()
            } catch {
                throw Failure("\(error)")
            }
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
