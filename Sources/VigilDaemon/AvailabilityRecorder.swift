import Foundation
import Logging
import ServiceLifecycle
import VigilPipeline
import VigilStore

/// Keeps each camera's availability across restarts: at start it reads the recent days back from the
/// store onto the status board and deletes days older than ``keptDays``; then it writes what the board
/// counted every `interval` (a minute) and once more on shutdown. A failed write keeps the figures for
/// the next one and is logged once, until a write succeeds again; a crash loses at most one interval.
public struct AvailabilityRecorder: Service {
    /// Days kept in the store: the seven shown, one more, and today.
    public static let keptDays = 8

    private let store: any AvailabilityStore
    private let board: CameraStatusBoard
    private let interval: Duration
    private let now: @Sendable () -> Date
    private let logger: Logger

    public init(store: any AvailabilityStore, board: CameraStatusBoard, interval: Duration = .seconds(60),
                now: @escaping @Sendable () -> Date = Date.init, logger: Logger) {
        self.store = store
        self.board = board
        self.interval = interval
        self.now = now
        self.logger = logger
    }

    public func run() async throws {
        let oldest = UTCDay.format(now().addingTimeInterval(-Double(Self.keptDays) * 86_400))
        do {
            try await store.prune(before: oldest)
            board.loadAvailability(try await store.figures(since: oldest))
        } catch {
            logger.warning("availability of earlier runs not shown: \(error)")
        }
        var failing = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            await write(failing: &failing)
        }
    }

    /// Writes what the board counted since the last write.
    private func write(failing: inout Bool) async {
        let figures = board.takeUnwrittenAvailability()
        do {
            try await store.add(figures)
            failing = false
        } catch {
            board.returnUnwrittenAvailability(figures)
            if !failing { logger.warning("availability not saved (kept for the next try): \(error)") }
            failing = true
        }
    }
}
