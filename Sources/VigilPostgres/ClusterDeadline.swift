import Foundation
import Synchronization

extension ClusterDatabase {
    /// How long one operation of the fleet's alert stores and sinks may take before it fails as unanswered.
    public static let answerLimit: Duration = .seconds(10)

    /// Runs `work`, failing with a ``ClusterError`` (`unreachable`) once it took `limit`.
    ///
    /// postgres-nio's pool makes a query wait while it cannot connect (for a minute, until its circuit
    /// breaker trips), so without a bound an outage looks like a silent hang. The bound returns at
    /// `limit` even if `work` ignores its cancellation; `work` then finishes on its own and its result
    /// is dropped, so only work that may run twice belongs here (every alert insert is idempotent by id).
    /// A thrown ``ClusterError`` passes through; any other error becomes one, described as `doing`.
    public static func bounded<T: Sendable>(_ limit: Duration = answerLimit, doing: String,
                                            _ work: @escaping @Sendable () async throws -> T) async throws(ClusterError) -> T {
        let race = Race<T>(doing: doing)
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                race.start(continuation, limit: limit, work)
            }
        } onCancel: {
            race.cancel()
        }
        return try outcome.get()
    }
}

/// The work and its deadline: whichever ends first resumes the waiting caller, once.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var waiting: CheckedContinuation<Result<T, ClusterError>, Never>?
        var tasks: [Task<Void, Never>] = []
        var cancelled = false
    }

    private let state = Mutex(State())
    private let doing: String

    init(doing: String) {
        self.doing = doing
    }

    func start(_ continuation: CheckedContinuation<Result<T, ClusterError>, Never>, limit: Duration,
               _ work: @escaping @Sendable () async throws -> T) {
        let doing = doing
        state.withLock { $0.waiting = continuation }
        let worker = Task {
            do {
                self.finish(.success(try await work()))
            } catch let error as ClusterError {
                self.finish(.failure(error))
            } catch {
                self.finish(.failure(ClusterError(doing: doing, error)))
            }
        }
        let timer = Task {
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
            self.finish(.failure(ClusterError(.unreachable, "\(doing): no answer within \(String(format: "%g", seconds)) s; "
                + "is PostgreSQL running and reachable?")))
        }
        let (finished, cancelled) = state.withLock { state in
            state.tasks = [worker, timer]
            return (state.waiting == nil, state.cancelled)
        }
        if finished {
            timer.cancel()
        } else if cancelled {
            cancel()
        }
    }

    /// Resumes the caller with `result` if nothing did yet, and stops the other side.
    private func finish(_ result: Result<T, ClusterError>) {
        let (waiting, tasks) = state.withLock { state in
            defer { state.waiting = nil }
            return (state.waiting, state.tasks)
        }
        guard let waiting else { return }
        for task in tasks { task.cancel() }
        waiting.resume(returning: result)
    }

    /// The caller was cancelled: the work is cancelled and the caller resumes at once.
    func cancel() {
        state.withLock { $0.cancelled = true }
        finish(.failure(ClusterError(.database, "\(doing): cancelled")))
    }
}
