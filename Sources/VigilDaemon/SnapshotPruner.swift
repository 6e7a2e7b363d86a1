import Foundation
import Logging
import ServiceLifecycle
import VigilStore

/// Applies the snapshot retention (`SnapshotStore.prune`) at start and then every `interval`,
/// until the group shuts down. A pass walks the snapshot directory (a few milliseconds for
/// thousands of files), so it runs inline on the cooperative pool.
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
            let pass = store.prune()
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
