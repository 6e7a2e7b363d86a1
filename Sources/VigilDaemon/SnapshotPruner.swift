import Foundation
import Logging
import ServiceLifecycle
import VigilSQLite
import VigilStore

/// Applies the retention by law at start and then every `interval`, until the group shuts down:
/// each camera's snapshots and the alerts kept in the queue database go once they are past the
/// camera's `retention-days` (``SnapshotStore/maxAge`` for snapshots of a camera no longer in the
/// registry), the snapshot size cap stays as a safety net, undelivered motion alerts go after the
/// queue's maximum age (7 days), and events under an evidence hold are never touched. Every deletion is recorded in `<state dir>/deletions.jsonl` (``DeletionLog``).
///
/// The file work (walking, hashing and removing snapshots, the holds read, the log's writes) runs on a
/// serial dispatch queue of its own, never on the cooperative pool.
public struct SnapshotPruner: Service {
    private let store: SnapshotStore?
    private let queue: (any AlertDeliveryStore)?
    private let state: StateDirectory
    private let registry: any CameraStore
    private let interval: Duration
    private let logger: Logger
    private let io = DispatchQueue(label: "vigil.retention")

    /// `store` nil: snapshots are off, only queued alerts are pruned; `queue` nil: only snapshots.
    /// `registry` (SQLite, or the cluster's in fleet mode) is read at each pass for the cameras'
    /// retention (a failed read skips the pass: nothing is deleted on a guess).
    public init(store: SnapshotStore?, queue: (any AlertDeliveryStore)?, state: StateDirectory,
                registry: any CameraStore, interval: Duration = .seconds(3600), logger: Logger) {
        self.store = store
        self.queue = queue
        self.state = state
        self.registry = registry
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await pass()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// What one pass did.
    public struct Pass: Sendable, Equatable {
        public var snapshots = SnapshotStore.Pruning()
        /// Alerts deleted from the queue database.
        public var alerts = 0
        /// Why the pass did nothing or stopped early; nil when it ran through.
        public var problem: String?
    }

    /// One pass at `now`; logs what it removed.
    @discardableResult
    public func pass(now: Date = Date()) async -> Pass {
        let (store, state) = (self.store, self.state)
        let fallback = store.map { Double($0.maxAge.components.seconds) } ?? Double(Camera.defaultRetentionDays) * 86_400
        var result = Pass()
        let cameras: [Camera]
        do {
            cameras = try await registry.cameras()
        } catch {
            result.problem = "retention pass skipped, nothing deleted: \(error)"
            return report(result)
        }
        let prepared: Result<RetentionPolicy, Failure> = await onIOThread {
            do {
                let held = try EvidenceHolds.existing(in: state)?.heldEvents(at: now) ?? []
                return .success(RetentionPolicy(cameras: cameras, fallback: fallback, held: held))
            } catch {
                return .failure(Failure(message: "retention pass skipped, nothing deleted: \(error)"))
            }
        }
        guard case .success(let policy) = prepared else {
            if case .failure(let failure) = prepared { result.problem = failure.message }
            return report(result)
        }
        result.snapshots = await onIOThread {
            do throws(DeletionLog.Failure) {
                let log = try DeletionLog(directory: state)
                var pruning = store?.prune(now: now, policy: policy, log: log) ?? SnapshotStore.Pruning()
                do throws(DeletionLog.Failure) { try log.close() } catch { pruning.problem = pruning.problem ?? error.description }
                return pruning
            } catch {
                return SnapshotStore.Pruning(problem: "\(error.description); nothing deleted")
            }
        }
        result.problem = result.snapshots.problem
        guard result.problem == nil, let queue else { return report(result) }
        do {
            let deletions = try await queue.expire(under: policy, now: now)
            result.alerts = deletions.count
            if !deletions.isEmpty {
                result.problem = await onIOThread {
                    do throws(DeletionLog.Failure) {
                        let log = try DeletionLog(directory: state)
                        for deletion in deletions { try log.record(deletion) }
                        try log.close()
                        return nil
                    } catch {
                        return "\(error.description): \(deletions.count) deleted alerts are not recorded"
                    }
                }
            }
        } catch {
            result.problem = "cannot prune the alerts kept in the queue: \(error)"
        }
        return report(result)
    }

    private struct Failure: Error {
        let message: String
    }

    private func report(_ pass: Pass) -> Pass {
        let snapshots = pass.snapshots
        let kept = "\(snapshots.keptFiles) snapshots kept (\(snapshots.keptBytes / 1_000_000) MB, "
            + "\(snapshots.heldFiles) under an evidence hold)"
        if let problem = pass.problem { logger.error("retention: \(problem)") }
        if snapshots.removedFiles > 0 || pass.alerts > 0 {
            let removed = "removed \(snapshots.removedFiles) snapshots (\(snapshots.removedBytes / 1_000_000) MB) and "
                + "\(pass.alerts) queued alerts past their camera's retention, the size cap or the queue's maximum age"
            logger.notice("retention: \(removed), recorded in \(DeletionLog.fileName); \(kept)")
        } else {
            logger.debug("retention: nothing to remove; \(kept)")
        }
        return pass
    }

    /// Runs blocking work on the pruner's own queue and waits for it without holding a pool thread.
    private func onIOThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            io.async { continuation.resume(returning: work()) }
        }
    }
}
