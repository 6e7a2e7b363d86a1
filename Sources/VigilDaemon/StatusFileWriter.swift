import Foundation
import Logging
import ServiceLifecycle
import VigilPipeline

/// Writes the status board to `status.json` (see `StatusFile`) every `interval` while the daemon runs,
/// and once more on shutdown with `stopped` set, so `vigil status` can tell a stopped daemon from a
/// running one. A write that fails is logged once, until one succeeds again.
public struct StatusFileWriter: Service {
    private let board: CameraStatusBoard
    private let url: URL
    private let interval: Duration
    private let logger: Logger

    public init(board: CameraStatusBoard, url: URL, interval: Duration = .seconds(1), logger: Logger) {
        self.board = board
        self.url = url
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        var failing = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            write(board.snapshot(), failing: &failing)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        var last = board.snapshot()
        last.stopped = last.taken
        write(last, failing: &failing)
    }

    private func write(_ snapshot: StatusSnapshot, failing: inout Bool) {
        do {
            try StatusFile.write(snapshot, to: url)
            failing = false
        } catch {
            if !failing { logger.warning("status file not written (vigil status cannot see the daemon): \(error)") }
            failing = true
        }
    }
}
