import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VigilDetector
import VigilIngest
import VigilStore

/// Runs one `CameraWorker` per enabled camera of the registry and keeps them in step with it.
///
/// The registry's generation is read every `pollInterval`, and the cameras only when it moved (or at
/// once after `requestReload()`, on SIGHUP), so `vigil camera ...` changes take effect within seconds
/// without a restart; only cameras whose record or credentials changed are restarted. Each second
/// the supervisor lets every worker whose frames stopped long enough report itself offline, on
/// threads of their own (see ``checkOffline()``). Nothing here blocks the cooperative pool.
public final class CameraSupervisor: Service, Sendable {
    /// Builds the settings a camera's detector runs with (config defaults plus the camera's overrides).
    public typealias SettingsProvider = @Sendable (Camera) -> CameraDetectionSettings
    /// The deadlines and thresholds of a camera's worker.
    public typealias TimingProvider = @Sendable (Camera) -> WorkerSettings
    /// Receives what the workers learn, with the camera's record; called on the workers' threads.
    public typealias EventSink = @Sendable (_ camera: Camera, _ event: WorkerEvent) -> Void

    private let registry: any CameraSource
    private let timing: TimingProvider
    private let pollInterval: Duration
    private let settings: SettingsProvider
    private let snapshots: Bool
    private let sink: EventSink
    private let logger: Logger
    private let workers = Mutex<[String: Running]>([:])
    private let reloadRequested = Atomic<Bool>(false)
    /// The registry's generation the workers were last matched to.
    private let matched = Mutex<RegistryGeneration?>(nil)

    /// A worker and what it was started from, to notice changes.
    private struct Running: Sendable {
        let worker: CameraWorker
        let setup: Setup
    }

    /// Everything a worker is started from: when any of it changes, the worker is restarted.
    private struct Setup: Sendable, Equatable {
        let camera: Camera
        let connectURL: String
        let settings: CameraDetectionSettings
        let timing: WorkerSettings

        static func == (left: Setup, right: Setup) -> Bool {
            left.camera.hasSameSetup(as: right.camera) && left.connectURL == right.connectURL
                && left.settings == right.settings && left.timing == right.timing
        }
    }

    /// With `snapshots`, every worker sends a JPEG of each motion event's peak frame with its `motionEnded`.
    public init(registry: any CameraSource, timing: @escaping TimingProvider, pollInterval: Duration = .seconds(2),
                settings: @escaping SettingsProvider, snapshots: Bool = false, logger: Logger,
                sink: @escaping EventSink) {
        self.registry = registry
        self.timing = timing
        self.pollInterval = pollInterval
        self.settings = settings
        self.snapshots = snapshots
        self.logger = logger
        self.sink = sink
    }

    public func run() async throws {
        var sincePoll = Duration.zero
        await reconcile(force: true)
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            sincePoll += .seconds(1)
            await checkOffline()
            let reload = reloadRequested.exchange(false, ordering: .relaxed)
            if sincePoll >= pollInterval || reload {
                sincePoll = .zero
                await reconcile(force: reload)
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

    /// A one-line summary for systemd's STATUS=, e.g. "12/14 cameras streaming, 1 lagging (up to 3.4 s behind),
    /// 1 in backoff, 1 credentials rejected".
    public var statusLine: String {
        let workers = workers.withLock { Array($0.values.map(\.worker)) }
        let states = workers.map(\.state)
        let lags = workers.compactMap(\.laggingSeconds)
        let streaming = states.filter { $0 == .streaming }.count
        var parts = ["\(streaming)/\(states.count) cameras streaming"]
        if let worst = lags.max() {
            parts.append(String(format: "%d lagging (up to %.1f s behind)", lags.count, worst))
        }
        for state in [WorkerState.connecting, .backoff, .credentialsRejected, .notFound] {
            let count = states.filter { $0 == state }.count
            if count > 0 { parts.append("\(count) \(state == .connecting ? "connecting" : state == .backoff ? "in backoff" : state.rawValue)") }
        }
        return parts.joined(separator: ", ")
    }

    /// Every worker showed a sign of life recently (frames, an attempt, or a known backoff).
    public var workersAreAlive: Bool {
        workers.withLock {
            $0.values.allSatisfy {
                $0.worker.secondsSinceHeartbeat < ($0.setup.timing.openTimeout + $0.setup.timing.readTimeout).seconds + 5
            }
        }
    }

    /// Lets the workers whose frames stopped long enough report `offline`, each on a thread of its
    /// own and all at once: a report waits for its alert's commit, so cameras going offline together
    /// share one commit instead of taking the cooperative pool's threads one fsync at a time.
    private func checkOffline() async {
        let due = workers.withLock { $0.values.map(\.worker) }.filter(\.isOfflineDue)
        guard !due.isEmpty else { return }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let group = DispatchGroup()
            for worker in due {
                group.enter()
                Thread {
                    ThreadName.setCurrent("vigil-offline")
                    worker.checkOffline()
                    group.leave()
                }.start()
            }
            group.notify(queue: .global()) { done.resume() }
        }
    }

    /// Starts, restarts and stops workers so they match the enabled cameras of the registry. Without
    /// `force` (a reload), the cameras are read only when the registry's generation moved.
    func reconcile(force: Bool) async {
        let generation: RegistryGeneration
        let cameras: [CameraConnection]
        do {
            generation = try await registry.generation()
            if !force, matched.withLock({ $0 }) == generation { return }
            cameras = try await registry.enabledCameras()
        } catch {
            logger.error("cannot read the camera registry: \(error); keeping the cameras as they are")
            return
        }
        var wanted: [String: Setup] = [:]
        for connection in cameras {
            let camera = connection.camera
            if let credentials = connection.credentials {
                Redactor.shared.register(secret: credentials.password, user: credentials.username)
            }
            wanted[camera.id] = Setup(camera: camera, connectURL: connection.analysedURL,
                                      settings: settings(camera), timing: timing(camera))
        }
        matched.withLock { $0 = generation }
        var stopping: [CameraWorker] = []
        var starting: [CameraWorker] = []
        workers.withLock { running in
            for (id, current) in running where wanted[id] != current.setup {
                stopping.append(current.worker)
                running[id] = nil
            }
            for (id, setup) in wanted where running[id] == nil {
                let worker = CameraWorker(
                    camera: setup.camera, connectURL: setup.connectURL, settings: setup.settings, timing: setup.timing,
                    snapshots: snapshots, logger: logger, report: { [sink] event in sink(setup.camera, event) })
                running[id] = Running(worker: worker, setup: setup)
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
                let packets = worker.packets
                logger.info("""
                    stopped watching camera: \(worker.frames) frames decoded, \(worker.staleFrames) packets or frames \
                    skipped to keep to the live edge, \
                    \(packets.received) packets received, \(packets.undecoded) left undecoded by adaptive decoding
                    """,
                            metadata: ["camera": "\(worker.camera.id)"])
            }
        }
    }
}
