import Foundation
import Logging
import ServiceLifecycle
import VigilStore

/// Applies the snapshot retention (`SnapshotStore.prune`) at start and then every `interval`,
/// until the group shuts down. A pass walks and deletes files (a few milliseconds for thousands of
/// files, longer on a slow disk), so it runs on a dispatch thread, not on the cooperative pool.
public struct SnapshotPruner: Service {
    private let store: SnapshotStore
    private let interval: Duration
    private let logger: Logger

    public init(store: SnapshotStore, interval: Duration = .seconds(3600), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let store = store
            let pass = await withCheckedContinuation { continuation in
                DispatchQueue.global(qos: .utility).async { continuation.resume(returning: store.prune()) }
            }
            let summary = "\(pass.keptFiles) snapshots kept (\(pass.keptBytes / 1_000_000) MB)"
            if pass.removedFiles > 0 {
                let removed = "removed \(pass.removedFiles) snapshots (\(pass.removedBytes / 1_000_000) MB)"
                logger.notice("\(removed) past the age or size limit; \(summary)")
            } else {
                logger.debug("snapshot retention: nothing to remove; \(summary)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
