import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VigilDetector
import VigilIngest
import VigilStore

/// Runs one `CameraWorker` per enabled camera of the registry and keeps them in step with it.
///
/// The registry is re-read every `pollInterval` (and at once after `requestReload()`, on SIGHUP),
/// so `vigil camera ...` changes take effect within seconds without a restart; only cameras whose
/// record or credentials changed are restarted. Each second the supervisor lets every worker check
/// whether it has been without frames long enough to be reported offline.
public final class CameraSupervisor: Service, Sendable {
    /// Builds the settings a camera's detector runs with (config defaults plus the camera's overrides).
    public typealias SettingsProvider = @Sendable (Camera) -> CameraDetectionSettings
    /// Receives what the workers learn; called on the workers' threads.
    public typealias EventSink = @Sendable (_ camera: String, _ event: WorkerEvent) -> Void

    private let registry: CameraRegistry
    private let timing: WorkerTiming
    private let pollInterval: Duration
    private let settings: SettingsProvider
    private let sink: EventSink
    private let logger: Logger
    private let workers = Mutex<[String: Running]>([:])
    private let reloadRequested = Atomic<Bool>(false)

    /// A worker and what it was started from, to notice changes.
    private struct Running: Sendable {
        let worker: CameraWorker
        let camera: Camera
        let connectURL: String
    }

    public init(registry: CameraRegistry, timing: WorkerTiming, pollInterval: Duration = .seconds(2),
                settings: @escaping SettingsProvider, logger: Logger, sink: @escaping EventSink) {
        self.registry = registry
        self.timing = timing
        self.pollInterval = pollInterval
        self.settings = settings
        self.logger = logger
        self.sink = sink
    }

    public func run() async throws {
        var sincePoll = Duration.zero
        reconcile()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            sincePoll += .seconds(1)
            for running in workers.withLock({ Array($0.values) }) { running.worker.checkOffline() }
            if sincePoll >= pollInterval || reloadRequested.exchange(false, ordering: .relaxed) {
                sincePoll = .zero
                reconcile()
            }
        }
        stopAll()
    }

    /// Re-reads the registry at the next tick (SIGHUP).
    public func requestReload() {
        reloadRequested.store(true, ordering: .relaxed)
    }

    /// States of all workers, by camera id.
    public var states: [String: WorkerState] {
        workers.withLock { $0.mapValues(\.worker.state) }
    }

    /// A one-line summary for systemd's STATUS=, e.g. "12/14 cameras streaming, 1 in backoff, 1 credentials rejected".
    public var statusLine: String {
        let states = Array(self.states.values)
        let streaming = states.filter { $0 == .streaming }.count
        var parts = ["\(streaming)/\(states.count) cameras streaming"]
        for state in [WorkerState.connecting, .backoff, .credentialsRejected, .notFound] {
            let count = states.filter { $0 == state }.count
            if count > 0 { parts.append("\(count) \(state == .connecting ? "connecting" : state == .backoff ? "in backoff" : state.rawValue)") }
        }
        return parts.joined(separator: ", ")
    }

    /// Every worker showed a sign of life recently (frames, an attempt, or a known backoff).
    public var workersAreAlive: Bool {
        let limit = (timing.openTimeout + timing.readTimeout).seconds + 5
        return workers.withLock { $0.values.allSatisfy { $0.worker.secondsSinceHeartbeat < limit } }
    }

    /// Starts, restarts and stops workers so they match the enabled cameras of the registry.
    func reconcile() {
        let wanted: [String: (Camera, String, CameraCredentials?)]
        do {
            wanted = try Dictionary(uniqueKeysWithValues: registry.cameras().filter(\.enabled).map { camera in
                let urls = try registry.connectURLs(for: camera)
                return (camera.id, (camera, urls.detect ?? urls.stream, urls.credentials))
            })
        } catch {
            logger.error("cannot read the camera registry: \(error); keeping the cameras as they are")
            return
        }
        var stopping: [CameraWorker] = []
        var starting: [CameraWorker] = []
        workers.withLock { running in
            for (id, current) in running {
                guard let (camera, url, _) = wanted[id], camera.hasSameSetup(as: current.camera), url == current.connectURL
                else {
                    stopping.append(current.worker)
                    running[id] = nil
                    continue
                }
            }
            for (id, (camera, url, credentials)) in wanted where running[id] == nil {
                if let credentials { Redactor.shared.register(secret: credentials.password, user: credentials.username) }
                let worker = CameraWorker(
                    camera: camera, connectURL: url, settings: settings(camera), timing: timing,
                    logger: logger, report: { [sink] event in sink(camera.id, event) })
                running[id] = Running(worker: worker, camera: camera, connectURL: url)
                starting.append(worker)
            }
        }
        stop(stopping)
        for worker in starting {
            logger.info("watching camera", metadata: ["camera": "\(worker.camera.id)"])
            worker.start()
        }
    }

    private func stopAll() {
        stop(workers.withLock { running in
            defer { running.removeAll() }
            return running.values.map(\.worker)
        })
    }

    /// Stops workers in parallel; each closes its open event on the way out.
    private func stop(_ stopping: [CameraWorker]) {
        for worker in stopping { worker.requestStop() }
        for worker in stopping {
            if !worker.waitUntilStopped(timeout: .seconds(3)) {
                logger.error("camera worker did not stop within 3 s", metadata: ["camera": "\(worker.camera.id)"])
            } else {
                logger.info("stopped watching camera", metadata: ["camera": "\(worker.camera.id)"])
            }
        }
    }
}
