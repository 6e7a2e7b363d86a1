import Foundation
import Logging
import Synchronization
import VigilStore

/// A sink's delivery state, for the daemon's status line.
public struct SinkStatus: Sendable, Equatable {
    /// "log", "webhook" or "exec".
    public let name: String
    /// Alerts delivered since the reporter started.
    public var delivered = 0
    /// Alerts given up on since the reporter started.
    public var deadLettered = 0
    /// Failed attempts in a row on the current alert.
    public var failures = 0
    /// The last failure, nil once a delivery succeeds again.
    public var lastError: String?
    /// When the oldest alert the sink is trying to deliver was raised; nil while it has nothing to
    /// deliver. Its age is the sink's lag (`vigil_sink_lag_seconds`).
    public var oldestWaiting: Date?

    public init(name: String) {
        self.name = name
    }

    /// `the cluster sink failed 3 times in a row: <last error>` while it fails, else nil: one line for
    /// `/readyz`, `vigil status` and the status file.
    public var failureSummary: String? {
        guard failures > 0 else { return nil }
        return "the \(name) sink failed \(failures) times in a row" + (lastError.map { ": \($0)" } ?? "")
    }
}

/// Feeds one sink from its position in the queue: fetch, deliver, acknowledge; on failure wait the
/// sink's backoff and retry, dead-lettering an alert after the policy's number of failures. With
/// nothing to deliver it sleeps until the queue commits (``AlertDeliveryStore/waitForCommit(after:timeout:)``),
/// or at most `fallbackPoll` seconds, for alerts another process commits.
final class SinkRunner: Sendable {
    let sink: any AlertSink
    private let queue: any AlertDeliveryStore
    private let logger: Logger
    private let fallbackPoll: TimeInterval
    private let state: Mutex<(position: Int64, status: SinkStatus)>

    init(sink: any AlertSink, queue: any AlertDeliveryStore, position: Int64, fallbackPoll: TimeInterval, logger: Logger) {
        self.sink = sink
        self.queue = queue
        self.fallbackPoll = fallbackPoll
        self.logger = logger
        state = Mutex((position, SinkStatus(name: sink.name)))
    }

    var status: SinkStatus { state.withLock { $0.status } }

    /// Delivers until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            // Read before the look: a commit during the look ends the wait below at once.
            let commits = queue.commitCount
            switch await step() {
            case .delivered: continue
            case .idle: await queue.waitForCommit(after: commits, timeout: .seconds(fallbackPoll))
            case .failed(let delay): try? await Task.sleep(for: .seconds(delay))
            }
        }
    }

    /// Delivers what is queued now, giving up at the first failure or after `timeout` seconds.
    func drain(timeout: TimeInterval) async {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, case .delivered = await step() {}
    }

    private enum Step {
        case delivered, idle
        case failed(retryIn: TimeInterval)
    }

    private func step() async -> Step {
        let position = state.withLock { $0.position }
        let batch: [QueuedAlert]
        do {
            batch = try await queue.alerts(after: position, limit: sink.batchLimit)
        } catch {
            // A stop interrupts the read: not a failure worth a warning.
            if Task.isCancelled { return .idle }
            return failed("cannot read the queue: \(error)", failures: state.withLock { $0.status.failures + 1 })
        }
        let oldest = batch.compactMap { AlertID.date(of: $0.id) }.min()
        state.withLock { $0.status.oldestWaiting = oldest }
        guard let last = batch.last else { return .idle }
        do {
            try await sink.deliver(batch)
        } catch {
            if Task.isCancelled { return .idle }
            let failures = state.withLock { $0.status.failures + 1 }
            if let limit = sink.retry.deadLetterAfter, failures >= limit, batch.count == 1 {
                return await deadLetter(last, failures: failures, reason: error.description)
            }
            return failed("alert \(batch[0].id) (\(batch[0].kind), camera \(batch[0].camera)): \(error)",
                          failures: failures)
        }
        advance(to: last.sequence) { $0.delivered += batch.count }
        await acknowledge(last.sequence)
        return .delivered
    }

    private func failed(_ reason: String, failures: Int) -> Step {
        let delay = sink.retry.delay(afterFailures: failures)
        state.withLock {
            $0.status.failures = failures
            $0.status.lastError = reason
        }
        logger.warning("\(sink.name): delivery failed (attempt \(failures)): \(reason); retrying in \(delay) s")
        return .failed(retryIn: delay)
    }

    private func deadLetter(_ alert: QueuedAlert, failures: Int, reason: String) async -> Step {
        do {
            try await queue.deadLetter(alert, sink: sink.name, failures: failures, reason: reason)
        } catch {
            return failed("cannot record dead letter: \(error)", failures: failures)
        }
        advance(to: alert.sequence) { $0.deadLettered += 1 }
        logger.error("\(sink.name): gave up on alert \(alert.id) (\(alert.kind), camera \(alert.camera)) after \(failures) attempts: \(reason); see vigil alerts dead")
        return .delivered
    }

    private func advance(to sequence: Int64, _ update: (inout SinkStatus) -> Void) {
        state.withLock {
            $0.position = sequence
            $0.status.failures = 0
            $0.status.lastError = nil
            update(&$0.status)
        }
    }

    /// A failed acknowledgement only means the alerts may be delivered again after a restart. It runs
    /// in a task of its own: a stop (cancellation) arriving just after a delivery must not cancel the
    /// write of the position, or the final drain would find nothing new and leave it unrecorded.
    private func acknowledge(_ sequence: Int64) async {
        let (queue, name) = (queue, sink.name)
        do {
            try await Task { try await queue.acknowledge(sink: name, through: sequence) }.value
        } catch {
            logger.warning("\(sink.name): cannot record the delivered position: \(error)")
        }
    }
}
