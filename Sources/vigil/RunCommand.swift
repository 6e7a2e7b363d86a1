import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import VigilDaemon
import UnixSignals
import VigilHTTP
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

    @Option(name: .customLong("http"), help: ArgumentHelp(
        "Serve health, metrics, the API, the status and register pages on ADDR:PORT (overrides http.listen).",
        valueName: "ADDR:PORT"))
    var httpListen: String?

    func run() async throws {
        try await reportingFailures {
            let loaded = try loadConfig(config)
            let level = logLevel
            let timestamps = isatty(STDERR_FILENO) == 1
            LoggingSystem.bootstrap { JournalLogHandler(label: $0, level: level, timestamps: timestamps) }
            FFmpegLog.route(to: Logger(label: "vigil.ffmpeg"), level: .error)
            MetricsSystem.bootstrap(Self.metricsFactory())
            let logger = Logger(label: "vigil")
            let daemon: Daemon
            do {
                daemon = try Daemon(configuration: Daemon.Configuration(
                    stateDirectory: log.state.directory, config: loaded, configPath: config,
                    reporter: sinks.configuration(alertLog: log, settings: loaded.reporter),
                    notifier: SystemdNotifier(), gracefulShutdownSignals: [.sigterm, .sigint], reloadOnHangup: true),
                    logger: logger)
            } catch let error as DaemonError {
                throw Failure(error.description)
            }
            let http: [any Service] = try httpServer(settings: loaded.http).map { configuration in
                [HTTPServer(configuration: configuration, sources: HTTPSources(
                    board: daemon.board, registry: daemon.registry, queue: daemon.queue, alertLog: daemon.alertLog,
                    snapshots: daemon.snapshots, notReady: { daemon.notReady() }), logger: logger,
                    onListening: { port in
                        var endpoint = configuration.endpoint
                        endpoint.port = port
                        logger.notice("http: serving on http://\(endpoint)/")
                    })]
            } ?? []
            do {
                try await daemon.run(additionalServices: http)
            } catch {
                throw Failure("\(error)")
            }
        }
    }

    /// What the daemon counts through swift-metrics goes to swift-prometheus's default registry, which
    /// `/metrics` exposes; the decode and detect timers get buckets that fit a frame's work.
    static func metricsFactory() -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: PrometheusMetricsFactory.defaultRegistry)
        factory.durationHistogramBuckets = [
            "vigil_decode_seconds": [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100].map { .microseconds(Int64($0 * 1000)) },
            "vigil_detect_seconds": [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10].map { .microseconds(Int64($0 * 1000)) },
        ]
        return factory
    }

    /// The HTTP server's configuration when `--http` or `http.listen` asks for one: token read, address checked.
    private func httpServer(settings: HTTPSettings) throws -> HTTPServerConfiguration? {
        guard let listen = httpListen ?? settings.listen else { return nil }
        do {
            let endpoint = try HTTPSettings.endpoint(listen).get()
            let token = try settings.tokenFile.map { path throws(HTTPConfigurationError) in
                try HTTPServerConfiguration.readToken(path: path)
            }
            return try HTTPServerConfiguration(endpoint: endpoint, token: token, maxConnections: settings.maxConnections,
                                               headerTimeout: .milliseconds(Int64(settings.headerTimeout * 1000)))
        } catch let problem as HTTPSettings.EndpointProblem {
            throw Failure("--http: \(problem.description)")
        } catch {
            throw Failure("\(error)")
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
