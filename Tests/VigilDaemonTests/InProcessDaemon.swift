import Foundation
import InMemoryLogging
import Logging
import ServiceLifecycle
import VigilDaemon
import VigilPipeline
import VigilReporter
import VigilStore
import VigilTestSupport
import VigilTesting

/// A `Daemon` run in-process on a `DaemonSetup`'s state directory and config, its log kept in memory.
final class InProcessDaemon: @unchecked Sendable {
    let setup: DaemonSetup
    let daemon: Daemon
    let logs = InMemoryLogHandler()
    private let task: Task<Void, any Error>

    var alertLogPath: String { setup.state.path + "/alerts.jsonl" }
    var board: CameraStatusBoard { daemon.board }

    /// Builds the daemon and starts `run()` in a task; `notifier` is systemd's (none by default).
    init(setup: DaemonSetup, notifier: SystemdNotifier = SystemdNotifier(environment: [:]),
         additionalServices: [any Service] = []) throws {
        self.setup = setup
        let logs = self.logs
        daemon = try Daemon(configuration: Daemon.Configuration(
            stateDirectory: StateDirectory(option: setup.state.path), config: VigilConfig.load(path: setup.config),
            configPath: setup.config, reporter: Reporter.Configuration(alertLog: URL(fileURLWithPath: setup.state.path + "/alerts.jsonl")),
            notifier: notifier), logger: Logger(label: "vigil") { _ in logs })
        let daemon = daemon
        task = Task { try await daemon.run(additionalServices: additionalServices) }
    }

    /// Every alert of the alert log, parsed, optionally only those of `kind` (and `camera`).
    func alerts(kind: String? = nil, camera: String? = nil) -> [[String: Any]] {
        readAlertLog(alertLogPath).filter {
            (kind == nil || $0["kind"] as? String == kind) && (camera == nil || $0["camera"] as? String == camera)
        }
    }

    /// The log lines so far, as `camera=ID message`.
    var log: [String] {
        logs.entries.map { entry in
            (entry.metadata["camera"].map { "camera=\($0) " } ?? "") + "\(entry.message)"
        }
    }

    /// How many workers were started for `camera`.
    func workersStarted(_ camera: String) -> Int {
        log.filter { $0 == "camera=\(camera) watching camera" }.count
    }

    /// Starts the graceful shutdown and waits for `run()` to return; the seconds it took.
    func stop() async throws -> Double {
        let start = Date()
        await daemon.triggerGracefulShutdown()
        try await task.value
        return Date().timeIntervalSince(start)
    }
}
