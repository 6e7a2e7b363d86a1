import Foundation

/// Where the daemon puts alerts: the camera workers, the alert bridge and the supervisor see the
/// durable queue only through this.
///
/// An alert is *enqueued* when the store has committed it durably; from then on every sink of the
/// ``AlertDeliveryStore`` delivers it at least once. Implemented by the SQLite `AlertQueue`
/// (module VigilSQLite), whose single writer thread commits many alerts per transaction.
public protocol AlertProducer: Sendable {
    /// Hands an alert over and suspends, without holding a thread, until it is committed or the
    /// store's enqueue timeout passed (then ``EnqueueOutcome/delayed``: it is held and committed
    /// later). Alerts enqueued together from many tasks share one commit. For async code.
    ///
    /// Throws only for a malformed alert, a store not opened for producing, or a closed store: a
    /// full disk is a ``EnqueueOutcome/delayed`` outcome and a ``QueueStatus/problem``.
    @discardableResult
    func enqueue(_ alert: Alert) async throws(QueueError) -> EnqueueOutcome

    /// The same, for a caller on a thread of its own (a camera worker's decode thread): blocks the
    /// calling thread, at most the enqueue timeout. Never call it from async code.
    @discardableResult
    func enqueue(_ alert: Alert) throws(QueueError) -> EnqueueOutcome

    /// Suspends until every alert enqueued so far is committed; false if `timeout` (seconds) passed first.
    func flush(timeout: TimeInterval) async -> Bool

    /// The producer side's health: what is held in memory, why writes fail. Cheap; never blocks.
    func status() -> QueueStatus
}
