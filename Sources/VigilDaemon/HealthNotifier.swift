import Logging
import ServiceLifecycle
import UnixSignals

/// Tells systemd how the daemon is: `READY=1` as soon as it runs (the store and queue are open by
/// then; cameras connect on their own time, so a dead camera never fails startup), a `STATUS=`
/// line every few seconds, `WATCHDOG=1` only while every camera worker is alive or in a known
/// backoff and the alert queue makes progress, and `STOPPING=1` on shutdown.
public struct HealthNotifier: Service {
    private let notifier: SystemdNotifier
    private let supervisor: CameraSupervisor
    private let queueStatus: @Sendable () -> (healthy: Bool, summary: String?)
    private let logger: Logger

    public init(notifier: SystemdNotifier, supervisor: CameraSupervisor, logger: Logger,
                queueStatus: @escaping @Sendable () -> (healthy: Bool, summary: String?)) {
        self.notifier = notifier
        self.supervisor = supervisor
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
            let status = [supervisor.statusLine, queue.summary].compactMap { $0 }.joined(separator: "; ")
            if status != lastStatus {
                notifier.status(status)
                lastStatus = status
            }
            if supervisor.workersAreAlive && queue.healthy {
                notifier.watchdog()
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        notifier.stopping()
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
