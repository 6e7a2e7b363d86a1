import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VigilDetector
import VigilIngest
import VigilPipeline
import VigilStore

/// Runs one `CameraWorker` per enabled camera of the registry and keeps them in step with it.
///
/// The registry's generation is read every `pollInterval`, and the cameras only when it moved (or at
/// once after `requestReload()`, on SIGHUP, or when a worker ended), so `vigil camera ...` changes take
/// effect within seconds without a restart; only cameras whose stream or detection changed are
/// restarted (a new name or purpose reaches the status board without one). Each second the supervisor
/// lets every worker whose frames stopped long enough report itself offline, on threads of their own
/// (see ``checkOffline()``), and restarts a worker that stopped showing signs of life. Nothing here
/// blocks the cooperative pool.
///
/// A camera has at most one worker at any time: a worker asked to stop stays in the table as
/// stopping until its thread has ended, and only then is a replacement started. Stopping waits for
/// all workers against one shared deadline, on a thread of its own, never on the cooperative pool.
/// The camera set on the `CameraStatusBoard` follows the registry (disabled cameras show `stopped`).
public final class CameraSupervisor: Service, Sendable {
    /// Builds the settings a camera's detector runs with (config defaults plus the camera's overrides).
    public typealias SettingsProvider = @Sendable (Camera) -> CameraDetectionSettings
    /// The deadlines and thresholds of a camera's worker.
    public typealias TimingProvider = @Sendable (Camera) -> WorkerSettings
    /// Receives what the workers learn, with the camera's current record and the supervisor's number
    /// for the worker; called on the workers' threads, and on the supervisor's for `offline`.
    public typealias WorkerEventHandler = @Sendable (_ camera: Camera, _ worker: Int, _ event: WorkerEvent) -> Void

    private let registry: any CameraSource
    private let timing: TimingProvider
    private let pollInterval: Duration
    private let settings: SettingsProvider
    private let snapshots: Bool
    private let board: CameraStatusBoard
    private let stopTimeout: Duration
    private let onEvent: WorkerEventHandler
    private let logger: Logger
    private let workers = Mutex<[String: Running]>([:])
    private let reloadRequested = Atomic<Bool>(false)
    private let nextWorker = Atomic<Int>(1)
    /// Monotonic nanoseconds of the supervisor's last tick: the daemon makes progress while it moves.
    private let lastTick = Atomic<Int64>(monotonicNanos())
    /// The registry's generation the workers were last matched to.
    private let matched = Mutex<RegistryGeneration?>(nil)

    /// A worker and what it was started from, to notice changes.
    private struct Running: Sendable {
        let worker: CameraWorker
        let setup: Setup
        /// The camera's latest record (its name or purpose may change without a restart).
        var camera: Camera
        /// Asked to stop; stays here until its thread has ended.
        var stopping = false
    }

    /// What a worker is started from: when any of it changes, the worker is restarted. Only what the
    /// stream or the detection depend on: not the name, purpose or declaration of the camera.
    private struct Setup: Sendable, Equatable {
        let streamURL: String
        let detectURL: String?
        let connectURL: String
        let settings: CameraDetectionSettings
        let timing: WorkerSettings
    }

    /// With `snapshots`, every worker sends a JPEG of each motion event's peak frame with its `motionEnded`.
    /// `stopTimeout` is how long stopping waits for workers (all of them together) before giving up on them.
    public init(registry: any CameraSource, timing: @escaping TimingProvider, pollInterval: Duration = .seconds(2),
                settings: @escaping SettingsProvider, snapshots: Bool = false, board: CameraStatusBoard = CameraStatusBoard(),
                stopTimeout: Duration = .seconds(3), logger: Logger, onEvent: @escaping WorkerEventHandler) {
        self.registry = registry
        self.timing = timing
        self.pollInterval = pollInterval
        self.settings = settings
        self.snapshots = snapshots
        self.board = board
        self.stopTimeout = stopTimeout
        self.logger = logger
        self.onEvent = onEvent
    }

    public func run() async throws {
        var sincePoll = Duration.zero
        await reconcile(force: true)
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            lastTick.store(monotonicNanos(), ordering: .relaxed)
            sincePoll += .seconds(1)
            await checkOffline()
            restartStuckWorkers()
            let ended = removeEndedWorkers()
            let reload = reloadRequested.exchange(false, ordering: .relaxed)
            if sincePoll >= pollInterval || ended || reload {
                sincePoll = .zero
                await reconcile(force: ended || reload)
            }
        }
        await stopAll()
    }

    /// Re-reads the registry at the next tick (SIGHUP).
    public func requestReload() {
        reloadRequested.store(true, ordering: .relaxed)
    }

    /// Whether a worker for `camera` runs or is still stopping.
    public func hasWorker(for camera: String) -> Bool {
        workers.withLock { $0[camera] != nil }
    }

    /// States of the running workers, by camera id.
    public var states: [String: WorkerState] {
        workers.withLock { $0.filter { !$0.value.stopping }.mapValues(\.worker.state) }
    }

    /// Cameras whose worker was asked to stop and has not ended yet (no replacement starts meanwhile).
    public var stoppingCameras: [String] {
        workers.withLock { $0.filter(\.value.stopping).keys.sorted() }
    }

    /// Whether the supervisor's loop ticked within the last `seconds`: the daemon is alive and makes
    /// progress (what systemd's watchdog is told), whatever its cameras do.
    public func isMakingProgress(within seconds: Double = 10) -> Bool {
        Double(monotonicNanos() - lastTick.load(ordering: .relaxed)) / 1e9 < seconds
    }

    /// Lets the workers whose frames stopped long enough report `offline`, each on a thread of its
    /// own and all at once: a report waits for its alert's commit, so cameras going offline together
    /// share one commit instead of taking the cooperative pool's threads one fsync at a time.
    private func checkOffline() async {
        let due = workers.withLock { $0.values.filter { !$0.stopping }.map(\.worker) }.filter(\.isOfflineDue)
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
    /// `force` (a reload, a worker that ended), the cameras are read only when the registry's
    /// generation moved.
    func reconcile(force: Bool) async {
        guard let wanted = await wantedCameras(force: force) else { return }
        let stopping = workers.withLock { running in
            var stopping: [CameraWorker] = []
            for (id, current) in running where !current.stopping {
                if let (camera, setup) = wanted[id], setup == current.setup {
                    running[id]?.camera = camera
                } else {
                    running[id]?.stopping = true
                    stopping.append(current.worker)
                }
            }
            return stopping
        }
        if !stopping.isEmpty {
            await stop(stopping)
            _ = removeEndedWorkers()
            for worker in stopping where wanted[worker.camera.id] == nil {
                board.setConnection(.stopped, camera: worker.camera.id)
            }
        }
        // The board follows the registry: a camera no longer on it has no series in /metrics either.
        CameraSeries.forget(keeping: Set(board.snapshot().cameras.map(\.id)))
        startMissing(wanted)
    }

    /// The enabled cameras of the registry with what their workers start from, by id; nil when the
    /// registry's generation did not move (without `force`) or it cannot be read (logged). Keeps the
    /// board's camera set in step with the registry.
    private func wantedCameras(force: Bool) async -> [String: (Camera, Setup)]? {
        let generation: RegistryGeneration
        let cameras: [WatchedCamera]
        do {
            generation = try await registry.generation()
            if !force, matched.withLock({ $0 }) == generation { return nil }
            cameras = try await registry.watchList()
        } catch {
            logger.error("cannot read the camera registry: \(error); keeping the cameras as they are")
            return nil
        }
        board.retain(cameras: cameras.map { ($0.camera.id, $0.camera.name) })
        var wanted: [String: (Camera, Setup)] = [:]
        for watched in cameras {
            let camera = watched.camera
            guard camera.enabled else {
                board.setConnection(.stopped, camera: camera.id)
                continue
            }
            if let credentials = watched.credentials {
                Redactor.shared.register(secret: credentials.password, user: credentials.username)
            }
            wanted[camera.id] = (camera, Setup(streamURL: camera.streamURL, detectURL: camera.detectURL,
                                               connectURL: watched.analysedURL,
                                               settings: settings(camera), timing: timing(camera)))
        }
        matched.withLock { $0 = generation }
        return wanted
    }

    /// Starts a worker for each wanted camera that has none (not even a stopping one).
    private func startMissing(_ wanted: [String: (Camera, Setup)]) {
        let starting = workers.withLock { running in
            var starting: [CameraWorker] = []
            for (id, (camera, setup)) in wanted where running[id] == nil {
                let number = nextWorker.wrappingAdd(1, ordering: .relaxed).oldValue
                let worker = CameraWorker(
                    camera: camera, connectURL: setup.connectURL, settings: setup.settings, timing: setup.timing,
                    snapshots: snapshots, board: board, offline: board.status(of: id)?.connection == .offline, logger: logger,
                    report: { [weak self, onEvent] event in
                        onEvent(self?.record(of: id) ?? camera, number, event)
                    })
                running[id] = Running(worker: worker, setup: setup, camera: camera)
                starting.append(worker)
            }
            return starting
        }
        for worker in starting {
            logger.info("watching camera", metadata: ["camera": "\(worker.camera.id)"])
            worker.start()
        }
    }

    /// The latest registry record of a camera being watched.
    private func record(of id: String) -> Camera? {
        workers.withLock { $0[id]?.camera }
    }

    /// Asks workers that showed no sign of life for longer than their open and read deadlines allow
    /// to stop, and reports them offline: their replacement starts once they have ended.
    private func restartStuckWorkers() {
        let stuck = workers.withLock { running in
            var stuck: [(CameraWorker, Double)] = []
            for (id, current) in running where !current.stopping {
                let silent = current.worker.secondsSinceHeartbeat
                if silent > (current.setup.timing.openTimeout + current.setup.timing.readTimeout).seconds + 5 {
                    running[id]?.stopping = true
                    stuck.append((current.worker, silent))
                }
            }
            return stuck
        }
        for (worker, silent) in stuck {
            logger.error("camera worker stuck: no sign of life for \(Int(silent)) s; restarting it",
                         metadata: ["camera": "\(worker.camera.id)"])
            worker.reportStuck()
            worker.requestStop()
        }
    }

    /// Drops the stopping workers whose threads have ended; whether there were any.
    private func removeEndedWorkers() -> Bool {
        let ended = workers.withLock { running in
            let ended = running.filter { $0.value.stopping && $0.value.worker.hasEnded }
            for id in ended.keys { running[id] = nil }
            return ended.values.map(\.worker)
        }
        for worker in ended { logStopped(worker) }
        return !ended.isEmpty
    }

    private func stopAll() async {
        let all = workers.withLock { running in
            for id in running.keys { running[id]?.stopping = true }
            return running.values.map(\.worker)
        }
        await stop(all)
        _ = removeEndedWorkers()
        for worker in all { board.setConnection(.stopped, camera: worker.camera.id) }
    }

    /// Asks workers to stop (each closes its open event on the way out) and waits for all of them
    /// against one deadline, `stopTimeout` from now, on a thread of its own. Those that did not end
    /// are logged and stay in the table as stopping.
    private func stop(_ stopping: [CameraWorker]) async {
        for worker in stopping { worker.requestStop() }
        let deadline = monotonicSeconds() + stopTimeout.seconds
        let late: [CameraWorker] = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: stopping.filter { !$0.waitUntilStopped(deadline: deadline) })
            }
            thread.start()
        }
        for worker in late {
            logger.error("camera worker did not stop within \(stopTimeout.formattedSeconds); no other worker starts for the camera until it has",
                         metadata: ["camera": "\(worker.camera.id)"])
        }
    }

    private func logStopped(_ worker: CameraWorker) {
        let packets = worker.packets
        logger.info("""
            stopped watching camera: \(worker.frames) frames decoded, \(worker.staleFrames) packets or frames \
            skipped to keep to the live edge, \
            \(packets.received) packets received, \(packets.undecoded) left undecoded by adaptive decoding
            """,
                    metadata: ["camera": "\(worker.camera.id)"])
    }
}
