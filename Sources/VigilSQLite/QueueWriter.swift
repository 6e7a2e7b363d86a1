import Foundation
import GRDB
import VigilStore
import Logging

/// The queue's single writer: a dedicated thread that commits alerts in the order producers
/// handed them over, many per transaction when they arrive together (group commit).
///
/// Producers never touch SQLite: they append to `entries` and wait, at most the enqueue timeout,
/// for their alert's commit. While the database refuses writes (full disk, a lock held too long)
/// alerts stay in `entries` and the writer retries every second.
///
/// All mutable state is guarded by `condition`.
final class QueueWriter: @unchecked Sendable {
    /// One alert on its way to the database; `outcome` is set when its transaction committed.
    /// Guarded by the writer's `condition`.
    private final class Entry: @unchecked Sendable {
        var alert: Alert
        var outcome: EnqueueOutcome?
        /// An async producer suspended until the commit or its timeout, whichever comes first.
        var waiter: CheckedContinuation<EnqueueOutcome, Never>?

        init(_ alert: Alert) {
            self.alert = alert
        }
    }

    private let pool: DatabasePool
    private let store: QueueStore
    private let path: String
    private let logger: Logger
    private let condition = NSCondition()
    /// Waiting alerts, oldest first; the first `inFlight` are being committed by the writer.
    private var entries: [Entry] = []
    private var inFlight = 0
    private var stopping = false
    private var abandoned = false
    private var finished = false
    private var status = QueueStatus()
    /// Coalesced counts wait in the database for room; the writer checks for room every second
    /// (and at its first commit, for counts a previous run left).
    private var coalescedWaiting = true

    private static let maxBatch = 512
    private static let retryInterval: TimeInterval = 1

    /// Signalled after each commit, to wake the sinks.
    private let commits: CommitSignal
    /// Ends the waits of async producers whose commit takes longer than their timeout.
    private let timeouts = DispatchQueue(label: "vigil-queue-timeouts")

    init(pool: DatabasePool, store: QueueStore, path: String, commits: CommitSignal, logger: Logger) {
        self.pool = pool
        self.store = store
        self.path = path
        self.commits = commits
        self.logger = logger
    }

    /// Starts the writer thread, `vigil-queue` in `top -H`.
    func start() {
        let thread = Thread { [self] in
            ThreadName.setCurrent("vigil-queue")
            run()
        }
        thread.start()
    }

    /// Hands `alert` to the writer and waits at most `timeout` seconds for its commit. When memory
    /// holds `maxHeldInMemory` alerts already, a motion alert is folded into the newest waiting one
    /// of its camera and kind instead.
    func enqueue(_ alert: Alert, timeout: TimeInterval) -> EnqueueOutcome {
        condition.lock()
        defer { condition.unlock() }
        guard let entry = append(alert) else { return .delayed }
        let deadline = Date().addingTimeInterval(timeout)
        while entry.outcome == nil, condition.wait(until: deadline) {}
        if let outcome = entry.outcome { return outcome }
        status.delayed += 1
        return .delayed
    }

    /// The same without blocking a thread: the task suspends until the writer thread commits the
    /// alert, or until a timer on `timeouts` ends the wait after `timeout` seconds.
    func enqueue(_ alert: Alert, timeout: TimeInterval) async -> EnqueueOutcome {
        await withCheckedContinuation { continuation in
            condition.lock()
            guard let entry = append(alert) else {
                condition.unlock()
                continuation.resume(returning: .delayed)
                return
            }
            entry.waiter = continuation
            condition.unlock()
            timeouts.asyncAfter(deadline: .now() + timeout) { [self] in
                condition.lock()
                let waiter = entry.waiter
                entry.waiter = nil
                if waiter != nil { status.delayed += 1 }
                condition.unlock()
                waiter?.resume(returning: .delayed)
            }
        }
    }

    /// Appends `alert` for the writer, or (nil) folds it into a waiting one when memory holds
    /// `maxHeldInMemory` alerts already and it is a motion alert of a camera and kind waiting there.
    /// Called with `condition` locked.
    private func append(_ alert: Alert) -> Entry? {
        if entries.count - inFlight >= store.options.maxHeldInMemory, alert.kind.isMotion,
           let target = entries[inFlight...].last(where: { $0.alert.camera == alert.camera && $0.alert.kind == alert.kind })
        {
            target.alert.count += alert.count
            status.coalesced += alert.count
            status.delayed += 1
            return nil
        }
        let entry = Entry(alert)
        entries.append(entry)
        status.held = entries.count
        condition.broadcast()
        return entry
    }

    /// Hands alerts to the writer without waiting for their commit.
    func hold(_ alerts: [Alert]) {
        condition.lock()
        defer { condition.unlock() }
        entries += alerts.map(Entry.init)
        status.held = entries.count
        condition.broadcast()
    }

    /// Waits until every alert handed over so far is committed; false when `timeout` passed first.
    func flush(timeout: TimeInterval) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while !entries.isEmpty, condition.wait(until: deadline) {}
        return entries.isEmpty
    }

    /// Commits what is waiting (for at most `timeout`), then ends the thread. Returns how many
    /// alerts could not be committed and are lost.
    func stop(timeout: TimeInterval) -> Int {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(timeout)
        while !finished, condition.wait(until: deadline) {}
        abandoned = true
        condition.broadcast()
        return entries.count
    }

    /// A copy of the counters and the current problem.
    func currentStatus() -> QueueStatus {
        condition.lock()
        defer { condition.unlock() }
        return status
    }

    private func run() {
        condition.lock()
        while true {
            while entries.isEmpty, !stopping, !coalescedWaiting {
                _ = condition.wait(until: Date().addingTimeInterval(Self.retryInterval))
            }
            if abandoned || (stopping && entries.isEmpty) { break }
            inFlight = min(entries.count, Self.maxBatch)
            let batch = entries[0..<inFlight].map(\.alert)
            let maintain = coalescedWaiting
            condition.unlock()
            let result = Result { try pool.write { db in try commit(batch, maintain: maintain, in: db) } }
            if case .success = result { commits.signal() }
            condition.lock()
            switch result {
            case .success(let stored):
                for (entry, outcome) in zip(entries[0..<inFlight], stored.outcomes) {
                    entry.outcome = outcome
                    entry.waiter?.resume(returning: outcome)
                    entry.waiter = nil
                }
                entries.removeFirst(inFlight)
                inFlight = 0
                status.committed += batch.count
                status.coalesced += stored.coalescedCount
                status.lastCommit = Date()
                if maintain {
                    coalescedWaiting = stored.coalescedWaiting
                } else if stored.coalescedCount > 0 {
                    coalescedWaiting = true
                }
                if let problem = status.problem {
                    logger.notice("alert queue: writing works again after '\(problem)'; committed \(batch.count) held alerts")
                    status.problem = nil
                }
            case .failure(let error):
                inFlight = 0
                let problem = "cannot write to \(path): \(QueueError.reason(error))"
                if status.problem != problem {
                    logger.error("alert queue: \(problem); keeping \(entries.count) alerts in memory and retrying every second")
                }
                status.problem = problem
                status.held = entries.count
                condition.broadcast()
                if !abandoned { _ = condition.wait(until: Date().addingTimeInterval(Self.retryInterval)) }
                continue
            }
            status.held = entries.count
            condition.broadcast()
        }
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    private struct Committed {
        var outcomes: [EnqueueOutcome]
        var coalescedCount: Int
        var coalescedWaiting = false
    }

    private func commit(_ batch: [Alert], maintain: Bool, in db: Database) throws -> Committed {
        let stored = try store.store(batch, in: db)
        var committed = Committed(outcomes: stored.outcomes, coalescedCount: stored.coalescedCount)
        if maintain {
            committed.coalescedWaiting = try store.writeCoalescedIfRoom(in: db)
        }
        return committed
    }
}
