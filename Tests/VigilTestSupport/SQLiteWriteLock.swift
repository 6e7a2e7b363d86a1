import Foundation
import GRDB
import Synchronization

/// Holds the write lock of an SQLite database from a connection of its own, on a thread of its own,
/// until ``release()``: what a `vigil` command or a backup can do to the daemon's queue. While it is
/// held every commit of the queue's writer waits for its busy timeout, fails and is retried.
public final class SQLiteWriteLock: Sendable {
    private let released = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// Returns once the lock is taken (waiting up to 10 s for a commit under way); throws when it cannot be.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let database = try DatabaseQueue(path: path, configuration: configuration)
        let taken = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        Thread { [released, finished] in
            do {
                try database.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    taken.signal()
                    released.wait()
                    try db.execute(sql: "ROLLBACK")
                }
            } catch {
                failure.withLock { $0 = error }
                taken.signal()
            }
            finished.signal()
        }.start()
        taken.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Lets go of the lock and waits until the connection did.
    public func release() {
        released.signal()
        finished.wait()
    }

    deinit {
        released.signal()
    }
}
