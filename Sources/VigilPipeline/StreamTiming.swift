/// Whether a camera is lagging: its pictures keep falling further behind real time than the bound
/// (a link slower than the stream, see `FrameFeed`).
///
/// Lagging begins when skipping to the live edge did not catch up, or when a second skip comes
/// within `repeatWindow` seconds of the previous one (a single skip after a link flap is no lag).
/// It ends once the camera has delivered pictures within the bound, with neither, for `clearAfter`
/// seconds (longer than one cycle of a slow link: a fresh session, pictures falling behind, a skip).
public struct LagMonitor: Sendable {
    public let clearAfter: Double
    public let repeatWindow: Double
    public private(set) var isLagging = false
    private var lastFellBehind = -Double.infinity
    private var lastSkip = -Double.infinity

    /// What changed.
    public enum Change: Sendable, Equatable {
        case started(behindSeconds: Double)
        case ended
    }

    public init(clearAfter: Double = 30, repeatWindow: Double = 10) {
        self.clearAfter = clearAfter
        self.repeatWindow = repeatWindow
    }

    /// A skip to the live edge that began `behindSeconds` behind real time caught up, at monotonic `wall` seconds.
    public mutating func skipped(from behindSeconds: Double, at wall: Double) -> Change? {
        defer { lastSkip = wall }
        guard wall - lastSkip <= repeatWindow else { return nil }
        return fellBehind(by: behindSeconds, at: wall)
    }

    /// Skipping ahead gave up `behindSeconds` behind real time, at monotonic `wall` seconds.
    public mutating func fellBehind(by behindSeconds: Double, at wall: Double) -> Change? {
        lastFellBehind = wall
        guard !isLagging else { return nil }
        isLagging = true
        return .started(behindSeconds: behindSeconds)
    }

    /// A picture within the bound was analysed at monotonic `wall` seconds.
    public mutating func keptUp(at wall: Double) -> Change? {
        guard isLagging, wall - lastFellBehind >= clearAfter else { return nil }
        isLagging = false
        return .ended
    }
}

/// Plays a file at real-time pace, like a live camera: each frame is due at its media time after
/// the first frame of the session. A timestamp jump (either way) never makes it sleep longer than
/// `maximumWait` nor race through frames: the pace starts afresh from the frame after the jump.
public struct RealTimePacer: Sendable {
    public let maximumWait: Double
    private var start: Double?

    public init(maximumWait: Double = 1) {
        self.maximumWait = maximumWait
    }

    /// Seconds to wait before showing a frame with media time `media`, at monotonic time `now`.
    public mutating func wait(forMediaTime media: Double, now: Double) -> Double {
        guard let start, start + media - now <= maximumWait, now - (start + media) <= maximumWait else {
            self.start = now - media
            return 0
        }
        return max(0, start + media - now)
    }

    public mutating func reset() {
        start = nil
    }
}
