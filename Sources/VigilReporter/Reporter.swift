import Foundation
import Logging
import Synchronization
import VigilStore

/// Delivers queued alerts to the alert log and, when configured, a webhook and a command: a
/// long-running component with one ``run()``, stopped by ``stop()`` or by cancelling its task
/// (the daemon wraps it as a service).
///
/// Each sink runs on its own, from its own acknowledged position: a dead webhook never delays the
/// alert log. Delivery is at least once: an alert delivered but not yet acknowledged when the process
/// dies is delivered again after a restart (the alert log recognises and skips it; webhook receivers
/// get the same `Idempotency-Key`).
public final class Reporter: Sendable {
    /// What to deliver to.
    public struct Configuration: Sendable {
        /// The JSON Lines alert log (see ``AlertLogLocation``).
        public var alertLog: URL
        public var webhook: WebhookConfiguration?
        public var exec: ExecConfiguration?
        /// Sinks another module supplies, each from its own position like the others (fleet mode's
        /// shipping of committed alerts into the cluster database).
        public var forwarders: [any AlertForwarder] = []
        /// Seconds between looks at an empty queue. The sinks wake at once when this process commits
        /// alerts; this poll only finds what another process commits (`vigil report` delivering from a
        /// queue another process produces into).
        public var fallbackPoll: TimeInterval = 1
        /// Seconds ``run()`` keeps writing what is queued to the alert log after a stop.
        public var drainTimeout: TimeInterval = 2

        public init(alertLog: URL, webhook: WebhookConfiguration? = nil, exec: ExecConfiguration? = nil) {
            self.alertLog = alertLog
            self.webhook = webhook
            self.exec = exec
        }
    }

    public let configuration: Configuration
    private let queue: any AlertDeliveryStore
    private let logger: Logger
    private let logSink: AlertLogSink
    private let sinks: [any AlertSink]
    private let runners = Mutex<[SinkRunner]>([])
    private let lifecycle = Mutex<(task: Task<Void, Never>?, stopped: Bool)>((nil, false))

    /// Opens (and repairs) the alert log. `queue` must be open for delivering (``AlertDeliveryStore/canDeliver``).
    public init(queue: any AlertDeliveryStore, configuration: Configuration,
                logger: Logger = Logger(label: "vigil.reporter")) throws(ReporterError) {
        guard queue.canDeliver else {
            throw ReporterError(.queueAccess, "the alert queue must be opened for delivering")
        }
        self.queue = queue
        self.configuration = configuration
        self.logger = logger
        do {
            logSink = try AlertLogSink(url: configuration.alertLog, logger: logger)
        } catch {
            throw ReporterError(.alertLog, error.description)
        }
        var sinks: [any AlertSink] = [logSink]
        if let webhook = configuration.webhook { sinks.append(WebhookSink(configuration: webhook)) }
        if let exec = configuration.exec { sinks.append(ExecSink(configuration: exec)) }
        sinks += configuration.forwarders.map { ForwardingSink(forwarder: $0) as any AlertSink }
        self.sinks = sinks
    }

    /// Delivers until ``stop()`` is called or the calling task is cancelled, then writes what is
    /// still queued to the alert log (for at most ``Configuration/drainTimeout``) and returns.
    /// Throws only when it cannot start (the queue cannot be written). Call it once per reporter.
    public func run() async throws(ReporterError) {
        // Started even when cancelled at once, so that the final drain below has positions.
        let names = sinks.map(\.name)
        let positions: [String: Int64]
        do {
            positions = try await Task { [queue] in try await queue.registerSinks(names) }.value
        } catch {
            throw ReporterError(.queue, "\(error)")
        }
        let runners = sinks.map {
            SinkRunner(sink: $0, queue: queue, position: positions[$0.name] ?? 0,
                       fallbackPoll: configuration.fallbackPoll, logger: logger)
        }
        self.runners.withLock { $0 = runners }
        logger.info("delivering alerts from \(queue.location) to \(sinks.map(describe).joined(separator: ", "))")
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                for runner in runners { group.addTask { await runner.run() } }
            }
        }
        let stopped = lifecycle.withLock { state in
            state.task = task
            return state.stopped
        }
        if stopped { task.cancel() }
        await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        // The drain must not inherit the cancellation that ended the runners.
        let logRunner = runners[0]
        await Task { await logRunner.drain(timeout: self.configuration.drainTimeout) }.value
    }

    /// Makes ``run()`` return soon. Safe from any thread, also before `run()` starts.
    public func stop() {
        lifecycle.withLock { state in
            state.stopped = true
            state.task?.cancel()
        }
    }

    /// Reopens the alert log before its next write (SIGHUP, after logrotate moved the file).
    public func reopenAlertLog() {
        logSink.requestReopen()
    }

    /// Each sink's delivery state; empty before ``run()`` started.
    public func status() -> [SinkStatus] {
        runners.withLock { $0.map(\.status) }
    }

    /// A sink for the startup line: the log's path, never the webhook's URL.
    private func describe(_ sink: any AlertSink) -> String {
        switch sink {
        case let log as AlertLogSink: "alert log \(log.url.path)"
        case let exec as ExecSink: "command '\(exec.configuration.target)'"
        default: sink.name
        }
    }
}

/// The reporter cannot start: the alert log cannot be opened, or the queue cannot be written.
/// `description` is one line for people; `code` is for programs. New codes may be added: switch
/// with a `default`.
public struct ReporterError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String

        /// The queue was not opened with ``AlertQueue/Access/deliver`` access.
        public static let queueAccess = Code(description: "queue access")
        /// The alert log cannot be opened or repaired, or is not a file Vigil may write.
        public static let alertLog = Code(description: "alert log")
        /// The queue refused to register the sinks (it cannot be written).
        public static let queue = Code(description: "queue")
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// Where the alert log is: `--alert-log PATH`, else the config file's `reporter.alert_log`, else
/// `$LOGS_DIRECTORY/alerts.jsonl` (systemd's `LogsDirectory=`; its first entry), else
/// `<state dir>/alerts.jsonl`.
public enum AlertLogLocation {
    public static let fileName = "alerts.jsonl"

    public static func resolve(option: String?, configured: String?, stateDirectory: StateDirectory,
                               environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let path = [option, configured].compactMap({ $0 }).first(where: { !$0.isEmpty }) {
            return URL(fileURLWithPath: path)
        }
        if let logs = environment["LOGS_DIRECTORY"]?.split(separator: ":").first {
            return URL(fileURLWithPath: String(logs), isDirectory: true).appendingPathComponent(fileName)
        }
        return stateDirectory.file(fileName)
    }
}
