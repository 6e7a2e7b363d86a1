import Foundation
import VigilStore

/// A destination for alerts with its own acknowledged position in the queue.
protocol AlertSink: Sendable {
    /// The sink's position key in the queue ("log", "webhook", "exec").
    var name: String { get }
    /// Most alerts handed to one `deliver` call.
    var batchLimit: Int { get }
    var retry: RetryPolicy { get }
    /// Delivers `alerts` in order; returns once all of them are delivered. A throw means none of them
    /// counts as delivered: they are retried.
    func deliver(_ alerts: [QueuedAlert]) async throws(DeliveryError)
}

/// A sink defined outside this module, run by the reporter like its own sinks: from its own position,
/// retried by its policy, acknowledged after each batch (so at least once).
public protocol AlertForwarder: Sendable {
    /// The sink's position key in the queue; must differ from "log", "webhook" and "exec".
    var name: String { get }
    /// Most alerts handed to one ``forward(_:)`` call.
    var batchLimit: Int { get }
    var retry: RetryPolicy { get }
    /// Delivers `alerts` in order. A throw means none of them counts as delivered: they are retried;
    /// the error's description is the reason logged.
    func forward(_ alerts: [QueuedAlert]) async throws
}

/// An ``AlertForwarder`` as one of the reporter's sinks.
struct ForwardingSink: AlertSink {
    let forwarder: any AlertForwarder

    var name: String { forwarder.name }
    var batchLimit: Int { forwarder.batchLimit }
    var retry: RetryPolicy { forwarder.retry }

    func deliver(_ alerts: [QueuedAlert]) async throws(DeliveryError) {
        do {
            try await forwarder.forward(alerts)
        } catch {
            throw DeliveryError(.forwardingFailed, "\(error)")
        }
    }
}

/// A sink that delivers one alert per attempt with a ``HookConfiguration`` (webhook, exec).
protocol HookSink: AlertSink {
    associatedtype Target: Sendable
    var configuration: HookConfiguration<Target> { get }
}

extension HookSink {
    var batchLimit: Int { 1 }
    var retry: RetryPolicy { configuration.retry }
}

/// Why a delivery failed, in words fit for a log line and `vigil alerts dead` (never a secret URL);
/// `code` tells a program what failed. New codes may be added: switch with a `default`.
struct DeliveryError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure.
    struct Code: Hashable, Sendable, CustomStringConvertible {
        let description: String

        /// The attempt took longer than the sink's timeout.
        static let timedOut = Code(description: "timed out")
        /// The webhook answered with a status other than 2xx (a redirect included).
        static let httpStatus = Code(description: "HTTP status")
        /// The webhook could not be reached or gave no answer.
        static let network = Code(description: "network")
        /// The command ran and failed (a non-zero status, a signal).
        static let commandFailed = Code(description: "command failed")
        /// The command could not be started.
        static let cannotRun = Code(description: "cannot run")
        /// The alert log cannot be opened, written or synced.
        static let alertLogUnwritable = Code(description: "alert log unwritable")
        /// The alert log's path is a symbolic link or a file that is not an alert log: left untouched.
        static let notAnAlertLog = Code(description: "not an alert log")
        /// An ``AlertForwarder`` failed.
        static let forwardingFailed = Code(description: "forwarding failed")
        /// The queued alert is not valid JSON.
        static let invalidAlert = Code(description: "invalid alert")
    }

    let code: Code
    let description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// A webhook or exec sink: where it delivers, how long one attempt may take, how it retries.
public struct HookConfiguration<Target: Sendable>: Sendable {
    /// The webhook's URL or the command line.
    public var target: Target
    /// Seconds one attempt (a request, a run of the command) may take.
    public var timeout: TimeInterval
    public var retry: RetryPolicy

    public init(target: Target, timeout: TimeInterval = 10, retry: RetryPolicy = RetryPolicy()) {
        self.target = target
        self.timeout = timeout
        self.retry = retry
    }
}

/// How a sink retries: capped exponential backoff, then a dead letter.
public struct RetryPolicy: Sendable, Equatable {
    /// Seconds before the first retry; doubled after each failure...
    public var initialBackoff: TimeInterval
    /// ...up to this many seconds.
    public var maxBackoff: TimeInterval
    /// Failed attempts after which an alert is dead-lettered (`vigil alerts dead`) and the sink
    /// moves on; nil to retry forever.
    public var deadLetterAfter: Int?

    public init(initialBackoff: TimeInterval = 1, maxBackoff: TimeInterval = 300, deadLetterAfter: Int? = 10) {
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.deadLetterAfter = deadLetterAfter
    }

    /// Seconds to wait after the `failures`-th failure in a row (1-based).
    func delay(afterFailures failures: Int) -> TimeInterval {
        min(maxBackoff, initialBackoff * pow(2, Double(min(failures - 1, 30))))
    }
}

extension DispatchQueue {
    /// Runs blocking work (file writes, fsync) on this queue instead of the cooperative pool.
    func perform<T: Sendable>(_ work: @escaping @Sendable () throws(DeliveryError) -> T) async throws(DeliveryError) -> T {
        let result: Result<T, DeliveryError> = await withCheckedContinuation { continuation in
            self.async { continuation.resume(returning: Result { () throws(DeliveryError) -> T in try work() }) }
        }
        return try result.get()
    }
}
