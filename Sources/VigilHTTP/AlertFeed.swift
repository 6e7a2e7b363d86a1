import Foundation
import Logging
import Synchronization
import VigilSQLite
import VigilStore

/// Every alert this process commits to the queue, in commit order: the latest `capacity` of them in
/// memory for the live stream (`/api/v1/alerts/stream`) and the status page's snapshots. It wakes on the queue's commit signal, never on a poll.
public final class AlertFeed: Sendable {
    /// One committed alert.
    public struct Entry: Sendable {
        /// Position in the queue (increasing in commit order).
        public let sequence: Int64
        public let id: String
        public let camera: String
        public let kind: String
        /// The motion event the alert belongs to, and whether a snapshot was saved for it.
        public let event: String?
        public let hasSnapshot: Bool
        /// The alert's JSON line as the alert log gets it, but for `snapshot`: a URL path on this server.
        public let line: String
    }

    private struct State {
        var entries: [Entry] = []
        var position: Int64 = 0
    }

    private let queue: AlertQueue
    private let capacity: Int
    private let state = Mutex(State())
    private let changes = CommitSignal()
    private let logger: Logger

    public init(queue: AlertQueue, capacity: Int = 2_000, logger: Logger) {
        self.queue = queue
        self.capacity = capacity
        self.logger = logger
    }

    /// Reads what each commit added until the calling task is cancelled.
    func follow() async {
        while !Task.isCancelled {
            let seen = queue.commitCount
            let position = state.withLock { $0.position }
            let batch: [QueuedAlert]
            do {
                batch = try await queue.alerts(after: position, limit: 500)
            } catch {
                logger.warning("http: cannot read the alert queue: \(error.description)")
                batch = []
            }
            if !batch.isEmpty { append(batch) }
            if batch.count < 500 { await queue.waitForCommit(after: seen, timeout: .seconds(5)) }
        }
    }

    private func append(_ batch: [QueuedAlert]) {
        let entries = batch.map { queued in
            let alert = try? Alert(jsonLine: queued.line)
            return Entry(sequence: queued.sequence, id: queued.id, camera: queued.camera, kind: queued.kind.rawValue,
                         event: alert?.event, hasSnapshot: alert?.snapshot != nil,
                         line: AlertHistory.publicLine(queued.line))
        }
        state.withLock { state in
            state.entries += entries
            if state.entries.count > capacity { state.entries.removeFirst(state.entries.count - capacity) }
            state.position = entries.last?.sequence ?? state.position
        }
        changes.signal()
    }

    /// How many changes the feed had: read before ``entries(after:)``, then ``wait(after:timeout:)``.
    var changeCount: UInt64 { changes.count }

    /// Wakes every waiting stream (at shutdown, so that it ends).
    func wakeAll() {
        changes.signal()
    }

    /// Returns when the feed got alerts after `count` was read, after `timeout`, or on cancellation.
    func wait(after count: UInt64, timeout: Duration) async {
        await changes.wait(after: count, timeout: timeout)
    }

    /// The entries after queue position `sequence`, oldest first.
    func entries(after sequence: Int64) -> [Entry] {
        state.withLock { state in Array(state.entries.drop { $0.sequence <= sequence }) }
    }

    /// Every entry held, oldest first.
    var entries: [Entry] { state.withLock { $0.entries } }

    /// The queue position of the newest entry (0 before the first).
    var position: Int64 { state.withLock { $0.position } }
}
