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

/// A sink that delivers one alert per attempt with a ``HookConfiguration`` (webhook, exec).
protocol HookSink: AlertSink {
    associatedtype Target: Sendable
    var configuration: HookConfiguration<Target> { get }
}

extension HookSink {
    var batchLimit: Int { 1 }
    var retry: RetryPolicy { configuration.retry }
}

/// Why a delivery failed, in words fit for a log line and `vigil alerts dead` (never a secret URL).
struct DeliveryError: Error, CustomStringConvertible, Sendable {
    let description: String

    init(_ description: String) {
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
