/// Notices frames that arrive late in a burst, so no motion is computed from stale pictures.
///
/// After a network stall a camera (or its RTSP server) often delivers the backlog at once, with
/// continuous timestamps: seconds of old frames in a fraction of a second. Lag is the wall time
/// elapsed minus the media time elapsed; its floor follows slow clock drift between camera and
/// server. A frame whose lag stands more than `maximumLag` above the floor is stale.
public struct BacklogDetector: Sendable {
    public let maximumLag: Double
    /// How quickly the floor follows a lag that grows (camera clock slower than ours), per frame.
    public let driftFollowRate: Double
    private var anchor: (wall: Double, media: Double)?
    private var lastMedia = 0.0
    private var floor = 0.0
    private var catchingUp = false

    public init(maximumLag: Double = 2.0, driftFollowRate: Double = 0.001) {
        self.maximumLag = maximumLag
        self.driftFollowRate = driftFollowRate
    }

    /// What to do with a frame.
    public enum Verdict: Sendable, Equatable {
        /// Analyse it.
        case current
        /// Skip it: it belongs to a backlog.
        case stale
        /// The backlog is drained: analyse it, but start the background afresh.
        case resumed
    }

    /// Classifies a frame that arrived at `wall` seconds (monotonic) with presentation time `media`
    /// (nil when the frame has none). A jump in media time starts the timing afresh.
    public mutating func classify(wall: Double, media: Double?) -> Verdict {
        guard let media else { return .current }
        defer { lastMedia = media }
        guard let anchor, media > lastMedia, media - lastMedia <= maximumLag else {
            let resumed = catchingUp
            reset()
            self.anchor = (wall, media)
            return resumed ? .resumed : .current
        }
        let lag = (wall - anchor.wall) - (media - anchor.media)
        if lag < floor {
            floor = lag
        } else if !catchingUp {
            floor += (lag - floor) * driftFollowRate
        }
        if lag - floor > maximumLag {
            catchingUp = true
            return .stale
        }
        if catchingUp {
            catchingUp = false
            return .resumed
        }
        return .current
    }

    /// Forgets the timing (a new session, or a jump in media time).
    public mutating func reset() {
        anchor = nil
        floor = 0
        catchingUp = false
    }
}

/// Plays a file at real-time pace, like a live camera: each frame is due at its media time after
/// the first frame of the session.
public struct RealTimePacer: Sendable {
    private var start: Double?

    public init() {}

    /// Seconds to wait before showing a frame with media time `media`, at monotonic time `now`.
    public mutating func wait(forMediaTime media: Double, now: Double) -> Double {
        guard let start else {
            self.start = now - media
            return 0
        }
        return max(0, start + media - now)
    }

    public mutating func reset() {
        start = nil
    }
}
