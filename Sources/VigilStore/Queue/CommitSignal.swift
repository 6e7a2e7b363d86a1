import Synchronization

/// Wakes the sinks when the queue's writer commits, instead of a poll: a count of commits and the
/// tasks waiting for it to move.
///
/// A sink reads ``count`` *before* it looks for alerts, then waits for the count to differ from what
/// it read. So a commit that lands between the look and the wait is never missed, and any number of
/// commits while a sink is busy wake it once (they coalesce).
public final class CommitSignal: Sendable {
    private enum Waiter {
        /// Registered, its continuation not stored yet.
        case pending
        case waiting(CheckedContinuation<Void, Never>)
        /// Cancelled before its continuation was stored.
        case cancelled
    }

    private struct State {
        var count: UInt64 = 0
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Commits signalled so far.
    public var count: UInt64 { state.withLock { $0.count } }

    /// Called by the writer after each commit: wakes every waiting task.
    public func signal() {
        let waiters = state.withLock { state in
            state.count &+= 1
            defer { state.waiters.removeAll() }
            return state.waiters.values
        }
        for case .waiting(let continuation) in waiters { continuation.resume() }
    }

    /// Returns once ``count`` differs from `seen`, after `timeout`, or when the calling task is cancelled.
    public func wait(after seen: UInt64, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForChange(from: seen) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForChange(from seen: UInt64) async {
        let id = state.withLock { state in
            state.nextWaiter &+= 1
            state.waiters[state.nextWaiter] = .pending
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    // A commit since `seen`, or a cancellation (or a signal) before this point.
                    guard state.count == seen, case .pending = state.waiters[id] else {
                        state.waiters[id] = nil
                        return true
                    }
                    state.waiters[id] = .waiting(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
                switch state.waiters[id] {
                case .pending:
                    state.waiters[id] = .cancelled
                    return nil
                case .waiting(let continuation):
                    state.waiters[id] = nil
                    return continuation
                case .cancelled, nil:
                    return nil
                }
            }
            continuation?.resume()
        }
    }
}
