import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VigilPipeline
import VigilPostgres
import VigilStore

/// Fleet mode's camera leases in the daemon: a `Service` that runs a ``CameraLeases`` round every
/// third of `lease_seconds`, and the `CameraSource` the supervisor watches, which lists only the
/// cameras this node holds.
///
/// Handing over: cameras above this node's share are first taken off the list (the supervisor stops
/// their workers), and released in the database only once the supervisor has no worker left for them, so the
/// node taking them starts after this one stopped. Losing the database: when no round succeeded by
/// the last round's deadline (this node's monotonic clock, before the leases expire on the
/// database's), every camera is taken off the list at once; a later round gets them back.
/// On graceful shutdown (after the supervisor stopped every worker) the node leaves the fleet.
public final class LeaseKeeper: Service, CameraSource {
    private let settings: ClusterSettings
    private let database: SharedClusterDatabase
    private let logger: Logger
    private let state = Mutex<State>(State())
    private let supervisor = Mutex<CameraSupervisor?>(nil)

    private struct State {
        var leases: CameraLeases?
        /// The fleet's registry, read for the held cameras' records and connect URLs.
        var cameras: ClusterRegistry?
        /// The cameras listed for the supervisor, with their epochs.
        var listed: [String: Int64] = [:]
        /// The latest epoch under which this node watched each camera, kept after it stopped (a
        /// stopping worker's last alerts were produced under it).
        var epochs: [String: Int64] = [:]
        /// Bumped whenever ``listed`` changes, folded into ``generation()``.
        var version: Int64 = 0
        /// The registry's generation as the last successful round read it (so that ``generation()``
        /// answers without the database, and a lost database still stops the cameras).
        var registryGeneration: Int64 = 0
        var deadline: ContinuousClock.Instant?
    }

    /// Leases cameras in `database` (the daemon's, which it closes after ``run()`` returned).
    public init(settings: ClusterSettings, database: SharedClusterDatabase, logger: Logger) {
        self.settings = settings
        self.database = database
        self.logger = logger
    }

    /// The supervisor watching this source: asked to reload when the list changes, and asked
    /// whether a handed-over camera's worker has stopped.
    func attach(_ supervisor: CameraSupervisor) {
        self.supervisor.withLock { $0 = supervisor }
    }

    private func isRunning(_ camera: String) -> Bool {
        supervisor.withLock { $0 }?.hasWorker(for: camera) ?? false
    }

    /// This node's name in the fleet.
    public var node: String { settings.node ?? "" }

    /// The lease epoch under which this node watches (or last watched) `camera`; nil if it never did.
    public func epoch(of camera: String) -> Int64? {
        state.withLock { $0.epochs[camera] }
    }

    /// The cameras this node may watch now, by id, with their epochs.
    public func held() -> [String: Int64] {
        state.withLock { $0.listed }
    }

    public func run() async throws {
        guard let node = settings.node else { return }
        let database = try await self.database.database()
        let capacity = settings.capacity ?? Self.defaultCapacity
        let leases = CameraLeases(database: database, node: node, capacity: capacity,
                                  leaseSeconds: settings.leaseSeconds, logger: logger)
        let cameras = ClusterRegistry(database: database, logger: logger)
        state.withLock {
            $0.leases = leases
            $0.cameras = cameras
        }
        logger.info("cluster: node '\(node)' (capacity \(capacity)) holds camera leases in \(database.url)")
        await withDiscardingTaskGroup { group in
            group.addTask { await self.watchDeadline() }
            await cancelWhenGracefulShutdown { await self.balanceRounds(leases, cameras: cameras) }
            group.cancelAll()
        }
        do {
            try await ClusterDatabase.bounded(doing: "cluster: leaving the fleet") { try await leases.leave() }
            logger.info("cluster: node '\(node)' left the fleet, its camera leases are free")
        } catch {
            logger.warning("\(error.description)")
        }
    }

    /// Cameras a node takes without `capacity`: ten per core (a 1080p main stream costs about 9% of one).
    public static var defaultCapacity: Int { min(10_000, max(1, ProcessInfo.processInfo.activeProcessorCount * 10)) }

    private func balanceRounds(_ leases: CameraLeases, cameras: ClusterRegistry) async {
        let clock = ContinuousClock()
        var failing = false
        while !Task.isCancelled {
            let started = clock.now
            do {
                // Bounded: a transaction the server cut off can wait for ever (postgres-nio 1.33).
                let round = try await ClusterDatabase.bounded(doing: "cluster: lease round") { try await leases.balance() }
                let registry: RegistryGeneration
                do {
                    registry = try await cameras.generation()
                } catch {
                    throw ClusterError(.database, error.description)
                }
                state.withLock { $0.registryGeneration = registry.value }
                if failing { logger.info("cluster: the database answers again") }
                failing = false
                let surplus = Set(round.surplus.map(\.cameraID))
                update(Dictionary(uniqueKeysWithValues: round.held.filter { !surplus.contains($0.cameraID) }.map {
                    ($0.cameraID, $0.epoch)
                }), deadline: round.deadline)
                if !surplus.isEmpty { try await handOver(surplus, leases: leases, deadline: round.deadline) }
            } catch let error as ClusterError {
                if !failing { logger.error("\(error.description)") }
                failing = true
            } catch {
                return
            }
            try? await clock.sleep(until: started + leases.roundInterval)
        }
    }

    /// Waits until the supervisor stopped `cameras` (already off the list), then releases them.
    private func handOver(_ cameras: Set<String>, leases: CameraLeases, deadline: ContinuousClock.Instant) async throws {
        logger.info("cluster: handing over \(cameras.count) cameras to other nodes: \(cameras.sorted().joined(separator: ", "))")
        let clock = ContinuousClock()
        while cameras.contains(where: isRunning), clock.now < deadline {
            try await clock.sleep(for: .milliseconds(50))
        }
        let stopped = cameras.filter { !isRunning($0) }
        try await ClusterDatabase.bounded(doing: "cluster: releasing handed-over cameras") { try await leases.release(Array(stopped)) }
    }

    /// Takes every camera off the list once the last successful round's deadline passed.
    private func watchDeadline() async {
        while !Task.isCancelled {
            let lost = state.withLock { state -> Int in
                guard let deadline = state.deadline, ContinuousClock.now >= deadline, !state.listed.isEmpty else { return 0 }
                return state.listed.count
            }
            if lost > 0 {
                logger.error("cluster: no lease renewal before the deadline; stopping \(lost) cameras before their leases expire")
                update([:], deadline: nil)
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private func update(_ listed: [String: Int64], deadline: ContinuousClock.Instant?) {
        let changed = state.withLock { state in
            state.deadline = deadline
            state.epochs.merge(listed) { $1 }
            guard state.listed != listed else { return false }
            state.listed = listed
            state.version += 1
            return true
        }
        if changed { supervisor.withLock { $0 }?.requestReload() }
    }

    // MARK: CameraSource

    public func watchList() async throws(RegistryError) -> [WatchedCamera] {
        let (cameras, listed) = state.withLock { ($0.cameras, $0.listed) }
        guard let cameras, !listed.isEmpty else { return [] }
        return try await cameras.watchList().filter { listed[$0.camera.id] != nil }
    }

    /// Moves when the registry moved (as of the last round) or the held cameras changed.
    public func generation() async throws(RegistryError) -> RegistryGeneration {
        state.withLock { RegistryGeneration($0.registryGeneration &* 1_000_003 &+ $0.version) }
    }
}

/// The daemon's alert producer in fleet mode: stamps every alert with this node's name and the
/// lease epoch of its camera, so a stale owner's late alert can be recognised, then hands it on.
struct LeaseStampingProducer: AlertProducer {
    let queue: any AlertProducer
    let keeper: LeaseKeeper

    private func stamped(_ alert: Alert) -> Alert {
        var alert = alert
        alert.node = keeper.node
        alert.epoch = keeper.epoch(of: alert.camera)
        return alert
    }

    func enqueue(_ alert: Alert) async throws(QueueError) -> EnqueueOutcome {
        try await queue.enqueue(stamped(alert))
    }

    func enqueue(_ alert: Alert) throws(QueueError) -> EnqueueOutcome {
        try queue.enqueue(stamped(alert))
    }

    func flush(timeout: TimeInterval) async -> Bool {
        await queue.flush(timeout: timeout)
    }

    func status() -> QueueStatus {
        queue.status()
    }
}
