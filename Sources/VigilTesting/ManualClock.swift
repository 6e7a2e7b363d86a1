import Foundation
import Synchronization

/// A wall clock that moves only when the test says so, for code that takes a `() -> Date`
/// (`AlertBridge`'s flood limits, `SnapshotStore.prune(now:)`, the queue's expiry).
public final class ManualClock: Sendable {
    private let time: Mutex<Date>

    /// A clock showing `start` (by default a fixed moment in 2027, so results do not depend on today).
    public init(start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        time = Mutex(start)
    }

    /// The time the clock shows.
    public var now: Date { time.withLock { $0 } }

    /// Moves the clock forward by `seconds` (backward when negative, as a corrected system clock does).
    public func advance(_ seconds: Double) {
        time.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    /// The clock as the closure the code under test reads.
    public var read: @Sendable () -> Date { { [self] in now } }
}
