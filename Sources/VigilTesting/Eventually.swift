import Foundation

/// Polls `condition` every `interval` until it holds or `seconds` have passed: the one way the
/// tests wait for something another thread or process does. Returns whether the condition held
/// (a test that checks a latency measures it around the call).
///
/// Sleeps with `Task.sleep`, so it does not hold a thread of the cooperative pool, which other
/// tests and the code under test need (the pool has as many threads as the machine has cores).
@discardableResult
public func eventually(within seconds: Double, every interval: Duration = .milliseconds(20),
                       _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: interval)
    }
}
