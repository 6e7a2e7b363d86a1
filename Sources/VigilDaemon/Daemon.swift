import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals
import VigilDetector
import VigilIngest
import VigilPipeline
import VigilPostgres
import VigilReporter
import VigilSQLite
import VigilStore

/// The daemon `vigil run` runs, composed in one place: the durable alert queue, the reporter that
/// delivers it, the bridge that turns what cameras learn into alerts, the supervisor with one worker
/// per enabled camera, the systemd notifier, SIGHUP reloads, snapshot retention and `status.json`, as
/// services of one `ServiceGroup`. The CLI only parses arguments; tests build and run a `Daemon` in-process.
///
/// Graceful shutdown (a signal in `Configuration.gracefulShutdownSignals`, or
/// ``triggerGracefulShutdown()``) runs in reverse order: services given to ``run(additionalServices:)``
/// stop first, then the cameras (closing their events), then the bridge writes its open flood
/// summaries, then the reporter drains the queue into the alert log.
public final class Daemon: Sendable {
    /// Everything a daemon is built from.
    public struct Configuration: Sendable {
        /// Holds the registry, the queue and the snapshots.
        public var stateDirectory: StateDirectory
        /// The config as loaded at start.
        public var config: VigilConfig
        /// The config file re-read by ``Daemon/reload()`` (SIGHUP); nil keeps `config` for good.
        public var configPath: String?
        /// The alert log and the other sinks.
        public var reporter: Reporter.Configuration
        /// Where `READY=1`, `STATUS=` and `WATCHDOG=1` go (tests pass one for their own socket).
        public var notifier: SystemdNotifier
        /// Signals that start a graceful shutdown (`vigil run`: SIGTERM and SIGINT; tests: none).
        public var gracefulShutdownSignals: [UnixSignal]
        /// Whether SIGHUP runs ``Daemon/reload()`` (`vigil run`: yes; in-process tests: no, they
        /// call `reload()` themselves).
        public var reloadOnHangup: Bool

        public init(stateDirectory: StateDirectory, config: VigilConfig, configPath: String? = nil,
                    reporter: Reporter.Configuration, notifier: SystemdNotifier = SystemdNotifier(environment: [:]),
                    gracefulShutdownSignals: [UnixSignal] = [], reloadOnHangup: Bool = false) {
            self.stateDirectory = stateDirectory
            self.config = config
            self.configPath = configPath
            self.reporter = reporter
            self.notifier = notifier
            self.gracefulShutdownSignals = gracefulShutdownSignals
            self.reloadOnHangup = reloadOnHangup
        }
    }

    /// Every camera's state, the sinks' figures: what the notifier, `vigil status`, HTTP and metrics read.
    public let board: CameraStatusBoard
    public let configuration: Configuration
    private let settings: ConfigHolder
    /// The durable alert queue (read by the HTTP surface: committed alerts and their commit signal).
    public let queue: AlertQueue
    private let reporter: Reporter
    /// Fleet mode: the fleet's sinks, run while this node holds the reporter lease.
    private let fleetReporter: ReporterLease?
    /// Fleet mode: the reporter's sink that ships the local queue into the cluster; closed on the way out.
    private let shipper: ClusterShippingSink?
    private let bridge: AlertBridge
    private let supervisor: CameraSupervisor
    /// Fleet mode's camera leases (`cluster:` in the config): the supervisor watches only the cameras
    /// this node holds; nil on a single server.
    public let leases: LeaseKeeper?
    /// Where event snapshots are kept; nil when `snapshots: false`.
    public let snapshots: SnapshotStore?
    /// The camera registry: the state directory's SQLite registry, or in fleet mode the cluster's
    /// (read by the HTTP surface and the retention pass).
    public let registry: any CameraStore
    /// Fleet mode: the cluster database the registry and the lease keeper share, opened on first
    /// use and closed when ``run(additionalServices:)`` returns; nil on a single server.
    private let cluster: SharedClusterDatabase?
    /// Each camera's watched and blind seconds per UTC day, kept across restarts.
    private let availability: AvailabilityFile
    private let logger: Logger
    private let lifecycle = Mutex<(group: ServiceGroup?, stopRequested: Bool)>((nil, false))

    /// Opens the registry, the queue and the alert log; nothing runs before ``run(additionalServices:)``.
    /// Throws a one-line ``DaemonError`` naming what cannot be opened.
    public init(configuration: Configuration, logger: Logger) throws(DaemonError) {
        self.configuration = configuration
        self.logger = logger
        let settings = ConfigHolder(path: configuration.configPath, config: configuration.config)
        self.settings = settings
        let board = CameraStatusBoard()
        self.board = board
        do {
            // Also in fleet mode, where no registry file creates it: the queue and availability live there.
            try configuration.stateDirectory.prepare()
        } catch {
            throw DaemonError(error.description)
        }
        if let urlFile = configuration.config.cluster.databaseURLFile {
            let cluster = SharedClusterDatabase(urlFile: urlFile, logger: logger)
            self.cluster = cluster
            registry = ClusterRegistry(shared: cluster, logger: logger)
        } else {
            cluster = nil
            do {
                registry = try CameraRegistry(directory: configuration.stateDirectory)
            } catch {
                throw DaemonError(error.description)
            }
        }
        do {
            availability = try AvailabilityFile(directory: configuration.stateDirectory)
        } catch {
            throw DaemonError(error.description)
        }
        var queueOptions = QueueOptions()
        queueOptions.durability = configuration.config.daemon.queueDurability == "normal" ? .normal : .full
        do {
            queue = try AlertQueue(directory: configuration.stateDirectory, access: [.produce, .deliver],
                                   options: queueOptions, logger: logger)
            var reporting = configuration.reporter
            // Fleet mode (pg-alerts): the node's reporter keeps its alert log and ships into the cluster;
            // the fleet's sinks run over the cluster's alerts on one node at a time (ReporterLease).
            if let urlFile = configuration.config.cluster.databaseURLFile {
                fleetReporter = ReporterLease(open: { try await ClusterDatabase.open(urlFile: urlFile, logger: logger) },
                                              configuration: ReporterLease.fleetSinks(of: reporting), logger: logger)
                (reporting.webhook, reporting.exec) = (nil, nil)
                let shipper = ClusterShippingSink(urlFile: urlFile, logger: logger)
                reporting.forwarders.append(shipper)
                self.shipper = shipper
            } else {
                fleetReporter = nil
                shipper = nil
            }
            reporter = try Reporter(queue: queue, configuration: reporting, logger: logger)
        } catch {
            throw DaemonError("\(error)")
        }
        let snapshots = configuration.config.daemon.snapshotStore(in: configuration.stateDirectory)
        self.snapshots = snapshots
        let leases = cluster.map { LeaseKeeper(settings: configuration.config.cluster, database: $0, logger: logger) }
        self.leases = leases
        var producer: any AlertProducer = queue
        if let leases { producer = LeaseStampingProducer(queue: queue, keeper: leases) }
        let bridge = AlertBridge(queue: producer, snapshots: snapshots,
                                 motionEventsPerMinute: { settings.current.daemon.motionEventsPerMinute },
                                 board: board, logger: logger)
        self.bridge = bridge
        supervisor = CameraSupervisor(
            registry: leases.map { $0 as any CameraSource } ?? registry, timing: { settings.current.daemon.timing(for: $0.id) },
            pollInterval: .seconds(configuration.config.daemon.registryPoll),
            settings: { settings.detection(for: $0, logger: logger) }, snapshots: snapshots != nil, board: board,
            logger: logger, onEvent: { bridge.publish(camera: $0, worker: $1, event: $2) })
        leases?.attach(supervisor)
    }

    /// Runs until a graceful shutdown (or a service fails), then closes the queue. `additionalServices`
    /// (an HTTP server, say) run in the same group and are shut down first. Call it once.
    public func run(additionalServices: [any Service] = []) async throws {
        let queue = queue, logger = logger, supervisor = supervisor
        let health = SystemdStatusService(notifier: configuration.notifier, board: board, logger: logger,
                                    isAlive: { supervisor.isMakingProgress() }, queueStatus: { queue.writerProgress() })
        // The status file is written first and stopped last, so its final snapshot shows every camera
        // stopped; the availability's last write, just before, counts up to the cameras' stop.
        var services: [any Service] = [
            StatusFileWriter(board: board, url: StatusFile.url(in: configuration.stateDirectory), logger: logger),
            AvailabilityRecorder(store: availability, board: board, logger: logger),
            ReporterService(reporter: reporter), DeliveryFigures(queue: queue, reporter: reporter, board: board, logger: logger),
            bridge,
        ]
        if let fleetReporter { services.append(fleetReporter) }
        // Before the supervisor, so it stops after the cameras did and can then leave the fleet.
        if let leases { services.append(leases) }
        services += [supervisor, health]
        if configuration.reloadOnHangup { services.append(ReloadOnHangup { [self] in reload() }) }
        services.append(SnapshotPruner(store: snapshots, queue: queue, state: configuration.stateDirectory,
                                       registry: registry, logger: logger))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services + additionalServices,
            gracefulShutdownSignals: configuration.gracefulShutdownSignals, logger: logger))
        let stopRequested = lifecycle.withLock { state in
            state.group = group
            return state.stopRequested
        }
        if stopRequested { await group.triggerGracefulShutdown() }
        logger.info("vigil starting: state \(configuration.stateDirectory.path), alert log \(reporter.configuration.alertLog.path)")
        do {
            try await group.run()
        } catch {
            logger.error("stopping after an error: \(error)")
            await shipper?.close()
            _ = queue.close(timeout: 2)
            await cluster?.close()
            throw error
        }
        await shipper?.close()
        let unsent = queue.close(timeout: 2)
        await cluster?.close()
        logger.info("stopped\(unsent > 0 ? "; \(unsent) alerts were not yet committed" : "")")
    }

    /// The alert log the reporter writes.
    public var alertLog: URL { reporter.configuration.alertLog }

    /// Why the daemon is not ready (for `/readyz`), or nil: the queue writer progresses and is not
    /// degraded, and the reporter runs with no sink failing.
    public func notReady() -> String? {
        if let summary = queue.writerProgress().summary { return summary }
        let sinks = reporter.status()
        if sinks.isEmpty { return "the reporter has not started yet" }
        return sinks.lazy.compactMap(\.failureSummary).first
    }

    /// Starts a graceful shutdown, as SIGTERM does; before ``run(additionalServices:)``, makes it return at once.
    public func triggerGracefulShutdown() async {
        let group = lifecycle.withLock { state in
            state.stopRequested = true
            return state.group
        }
        await group?.triggerGracefulShutdown()
    }

    /// What SIGHUP does: re-read the config file and the registry, reopen the alert log.
    public func reload() {
        logger.info("SIGHUP: reloading the config and the registry, reopening the alert log")
        settings.reload(logger: logger)
        supervisor.requestReload()
        reporter.reopenAlertLog()
    }
}

/// The daemon cannot start: its registry, queue or alert log cannot be opened. One line.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

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
    func writerProgress() -> (healthy: Bool, summary: String?) {
        let status = status()
        if let problem = status.problem { return (true, "alert queue degraded: \(problem)") }
        let stuck = status.held > 0 && (status.lastCommit.map { Date().timeIntervalSince($0) > 60 } ?? true)
        return (!stuck, stuck ? "alert queue writer stuck with \(status.held) alerts" : nil)
    }
}
