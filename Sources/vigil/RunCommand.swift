import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals
import VigilDaemon
import VigilDetector
import VigilHTTP
import VigilIngest
import VigilPipeline
import VigilReporter
import VigilStore

/// `vigil run`: the daemon. Watches every enabled camera of the registry, each on its own thread,
/// raises alerts into the durable queue and delivers them to the alert log and the other sinks.
/// SIGTERM or SIGINT stops it within 5 s (open events are closed, the queue is flushed, exit 0);
/// SIGHUP re-reads the config and the registry and reopens the alert log.
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
            let settings = ConfigHolder(path: config, config: try loadConfig(config))
            let level = logLevel
            let timestamps = isatty(STDERR_FILENO) == 1
            LoggingSystem.bootstrap { JournalLogHandler(label: $0, level: level, timestamps: timestamps) }
            let logger = Logger(label: "vigil")
            FFmpegLog.route(to: Logger(label: "vigil.ffmpeg"), level: .error)

            let registry = try log.state.openRegistry()
            var queueOptions = QueueOptions()
            queueOptions.durability = settings.current.daemon.queueDurability == "normal" ? .normal : .full
            let queue: AlertQueue
            let reporter: Reporter
            do {
                queue = try AlertQueue(directory: log.state.directory, access: [.produce, .deliver],
                                       options: queueOptions, logger: logger)
                reporter = try Reporter(queue: queue, configuration: sinks.configuration(
                    alertLog: log, settings: settings.current.reporter), logger: logger)
            } catch let failure as Failure {
                throw failure
            } catch {
                throw Failure("\(error)")
            }
            let snapshots = settings.current.daemon.snapshotStore(in: log.state.directory)
            let bridge = AlertBridge(queue: queue, snapshots: snapshots,
                                     motionEventsPerMinute: { settings.current.daemon.motionEventsPerMinute }, logger: logger)
            let supervisor = CameraSupervisor(
                registry: registry, timing: { settings.current.daemon.timing(for: $0.id) },
                pollInterval: .seconds(settings.current.daemon.registryPoll),
                settings: { settings.detection(for: $0, logger: logger) }, snapshots: snapshots != nil, logger: logger,
                sink: { bridge.publish(camera: $0, event: $1) })
            let health = HealthNotifier(notifier: SystemdNotifier(), supervisor: supervisor, logger: logger) {
                queue.health()
            }
            let reload = ReloadOnHangup {
                logger.info("SIGHUP: reloading the config and the registry, reopening the alert log")
                settings.reload(logger: logger)
                supervisor.requestReload()
                reporter.reopenAlertLog()
            }
            let pruner: [any Service] = snapshots.map { [SnapshotPruner(store: $0, logger: logger)] } ?? []
            let board = CameraStatusBoard()
            let http: [any Service] = try httpServer(settings: settings.current.http, logger: logger).map { configuration in
                [HTTPServer(configuration: configuration, sources: HTTPSources(
                    board: board, registry: registry, queue: queue, alertLog: reporter.configuration.alertLog,
                    snapshots: snapshots, notReady: { readiness(queue: queue, reporter: reporter) }), logger: logger,
                    onListening: { port in
                        var endpoint = configuration.endpoint
                        endpoint.port = port
                        logger.notice("http: serving on http://\(endpoint)/")
                    })]
            } ?? []
            // Graceful shutdown runs in reverse order: the cameras stop (closing their events), then the
            // bridge writes its open flood summaries, then the reporter drains the queue into the log.
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: [ReporterService(reporter: reporter), bridge, supervisor, health, reload] + pruner + http,
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            logger.info("vigil starting: state \(log.state.directory.path), alert log \(reporter.configuration.alertLog.path)")
            do {
                try await group.run()
            } catch {
                logger.error("stopping after an error: \(error)")
                _ = queue.close(timeout: 2)
                throw Failure("\(error)")
            }
            let unsent = queue.close(timeout: 2)
            logger.info("stopped\(unsent > 0 ? "; \(unsent) alerts were not yet committed" : "")")
        }
    }

    /// The HTTP server's configuration when `--http` or `http.listen` asks for one: token read, address checked.
    private func httpServer(settings: HTTPSettings, logger: Logger) throws -> HTTPServerConfiguration? {
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

/// Why the daemon is not ready to serve (for `/readyz`), or nil: the queue writer progresses and is
/// not degraded, and the reporter runs with no sink failing.
private func readiness(queue: AlertQueue, reporter: Reporter) -> String? {
    let health = queue.health()
    if let summary = health.summary { return summary }
    let sinks = reporter.status()
    if sinks.isEmpty { return "the reporter has not started yet" }
    if let failing = sinks.first(where: { $0.failures > 0 }) {
        return "the \(failing.name) sink failed \(failing.failures) times in a row"
    }
    return nil
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// The config file, re-read on SIGHUP. A broken file keeps the previous config and logs why.
final class ConfigHolder: Sendable {
    private let path: String?
    private let state: Mutex<VigilConfig>

    init(path: String?, config: VigilConfig) {
        self.path = path
        state = Mutex(config)
    }

    var current: VigilConfig { state.withLock { $0 } }

    func reload(logger: Logger) {
        guard let path else { return }
        do {
            let config = try VigilConfig.load(path: path)
            state.withLock { $0 = config }
        } catch {
            logger.error("keeping the previous config: \(error.description)")
        }
    }

    /// A camera's detection settings: its registry overrides on the config's defaults, else the
    /// config's `cameras:` entry for it, else the defaults.
    func detection(for camera: Camera, logger: Logger) -> CameraDetectionSettings {
        let config = current
        guard let overrides = camera.detection else { return config.settings(forCamera: camera.id) }
        do {
            return try config.settings(applying: overrides, origin: "the detection overrides of camera \(camera.id)")
        } catch {
            logger.error("\(error.description); using the config's settings", metadata: ["camera": "\(camera.id)"])
            return config.settings(forCamera: camera.id)
        }
    }
}

extension DaemonSettings {
    /// The worker timing of camera `id`: its own deadlines where set, else the daemon's.
    func timing(for id: String) -> WorkerSettings {
        let own = cameras[id]
        var timing = WorkerSettings()
        timing.openTimeout = .seconds(own?.openTimeout ?? openTimeout)
        timing.readTimeout = .seconds(own?.readTimeout ?? readTimeout)
        timing.offlineAfter = .seconds(own?.offlineAfter ?? offlineAfter)
        timing.reconnect.initialDelay = .seconds(minBackoff)
        timing.reconnect.maximumDelay = .seconds(max(maxBackoff, minBackoff))
        timing.reconnect.credentialsRetryDelay = .seconds(credentialsRetry)
        timing.reconnect.notFoundRetryDelay = .seconds(notFoundRetry)
        timing.skipLoopFilter = skipLoopFilter
        timing.maximumLag = maxLag
        timing.adaptive = (own?.adaptiveDecoding ?? adaptiveDecoding) ? AdaptiveDecoding(quietSeconds: adaptiveQuietSeconds) : nil
        return timing
    }
}

extension DaemonSettings {
    /// Where and how long snapshots are kept, or nil when `snapshots: false`. Read once at start:
    /// changing these keys takes a restart.
    func snapshotStore(in state: StateDirectory) -> SnapshotStore? {
        guard snapshots else { return nil }
        return SnapshotStore(directory: state.file("snapshots"), maxAge: .seconds(snapshotMaxAgeDays * 86_400),
                             maxBytes: snapshotMaxBytes)
    }
}

extension AlertQueue {
    /// Whether the queue writer makes progress, and a status line part when it does not.
    func health() -> (healthy: Bool, summary: String?) {
        let status = status()
        if let problem = status.problem { return (true, "alert queue degraded: \(problem)") }
        let stuck = status.held > 0 && (status.lastCommit.map { Date().timeIntervalSince($0) > 60 } ?? true)
        return (!stuck, stuck ? "alert queue writer stuck with \(status.held) alerts" : nil)
    }
}
