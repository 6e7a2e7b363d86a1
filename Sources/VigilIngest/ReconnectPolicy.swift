/// How long a camera worker waits before the next connection attempt.
///
/// Capped exponential backoff with jitter (about 1 s doubling up to 60 s), reset after a session
/// that delivered frames. Failures that retrying will not fix soon wait much longer: wrong
/// credentials (many cameras lock the account after repeated failures) and a wrong path. A session
/// dropped because it fell behind the live stream reconnects at once: the new session starts at the
/// live edge. While it waits after a network failure, a worker probes the camera every
/// `probeInterval` (see `ReachabilityProbe`) and reconnects as soon as the camera accepts
/// connections again. A value type; the caller owns its state and its random numbers (for tests).
public struct ReconnectPolicy: Sendable, Equatable {
    public var initialDelay: Duration = .seconds(1)
    public var maximumDelay: Duration = .seconds(60)
    /// Each delay is multiplied by a random factor in 1 ± jitter.
    public var jitter: Double = 0.2
    /// Wait after the camera rejected the credentials (or until the camera's record changes).
    public var credentialsRetryDelay: Duration = .seconds(30 * 60)
    /// Wait after the camera said the stream path does not exist (404).
    public var notFoundRetryDelay: Duration = .seconds(5 * 60)
    /// Time between two reachability probes while waiting after a network failure.
    public var probeInterval: Duration = .seconds(2)

    /// Consecutive failed attempts since the last session that delivered frames.
    public private(set) var failures = 0

    public init() {}

    /// A session delivered frames: the next failure starts again from `initialDelay`.
    public mutating func sessionDeliveredFrames() {
        failures = 0
    }

    /// The delay before the next attempt after a failure with `code`. `random` is a number in 0..<1.
    public mutating func delay(after code: MediaError.Code, random: Double = Double.random(in: 0..<1)) -> Duration {
        switch code {
        case .credentialsRejected: return credentialsRetryDelay
        case .notFound: return notFoundRetryDelay
        case .fellBehind: return .zero
        default:
            let exponent = min(failures, 16)
            failures += 1
            let base = min(initialDelay * (1 << exponent), maximumDelay)
            return base * (1 + jitter * (2 * random - 1))
        }
    }
}
