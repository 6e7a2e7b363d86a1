import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import VigilPipeline

/// Tells systemd how the daemon is: `READY=1` as soon as it runs (the store and queue are open by
/// then; cameras connect on their own time, so a dead camera never fails startup), a `STATUS=`
/// line made from the status board every few seconds, and `STOPPING=1` on shutdown.
///
/// `WATCHDOG=1` means the daemon itself is alive and makes progress (`isAlive`: the supervisor's loop
/// ticks) and the alert queue's writer is not stuck. A stuck camera does not withhold it: the
/// supervisor restarts that camera's worker and reports it, so systemd never restarts every camera
/// for one.
public struct SystemdStatusService: Service {
    private let notifier: SystemdNotifier
    private let board: CameraStatusBoard
    private let isAlive: @Sendable () -> Bool
    private let queueStatus: @Sendable () -> (healthy: Bool, summary: String?)
    private let logger: Logger

    public init(notifier: SystemdNotifier, board: CameraStatusBoard, logger: Logger,
                isAlive: @escaping @Sendable () -> Bool,
                queueStatus: @escaping @Sendable () -> (healthy: Bool, summary: String?)) {
        self.notifier = notifier
        self.board = board
        self.isAlive = isAlive
        self.logger = logger
        self.queueStatus = queueStatus
    }

    public func run() async throws {
        notifier.ready()
        logger.info("ready")
        let interval = min(notifier.watchdogInterval.map { $0 / 2 } ?? .seconds(5), .seconds(5))
        var lastStatus = ""
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let queue = queueStatus()
            let status = [board.snapshot().statusLine, queue.summary].compactMap { $0 }.joined(separator: "; ")
            if status != lastStatus {
                notifier.status(status)
                lastStatus = status
            }
            if isAlive() && queue.healthy {
                notifier.watchdog()
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        notifier.stopping()
    }
}

extension StatusSnapshot {
    /// A one-line summary for systemd's STATUS=, e.g. "12/14 cameras streaming, 1 lagging (up to 3.4 s
    /// behind), 1 in backoff, 1 credentials rejected, 1 dark". Cameras not watched (disabled) are left out.
    public var statusLine: String {
        let watched = cameras.filter { $0.connection != .stopped }
        var parts = ["\(watched.filter { $0.connection == .streaming }.count)/\(watched.count) cameras streaming"]
        let lags = watched.filter { $0.conditions[.lagging] != nil }.map { $0.behindSeconds ?? 0 }
        if let worst = lags.max() {
            parts.append(String(format: "%d lagging (up to %.1f s behind)", lags.count, worst))
        }
        let states: [(CameraConnection, String)] = [
            (.connecting, "connecting"), (.backoff, "in backoff"), (.offline, "offline"),
            (.credentialsRejected, "credentials rejected"), (.notFound, "not found"),
        ]
        for (state, words) in states {
            let count = watched.filter { $0.connection == state }.count
            if count > 0 { parts.append("\(count) \(words)") }
        }
        for condition in [PictureCondition.frozen, .covered, .dark] {
            let count = watched.filter { $0.conditions[condition] != nil }.count
            if count > 0 { parts.append("\(count) \(condition.rawValue)") }
        }
        return parts.joined(separator: ", ")
    }
}

/// SIGHUP: re-read the registry and config now, and reopen the alert log (after logrotate).
public struct ReloadOnHangup: Service {
    private let actions: @Sendable () -> Void

    public init(actions: @escaping @Sendable () -> Void) {
        self.actions = actions
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() { actions() }
    }
}
