/// Whole-picture measurements of one frame, on the averaged picture.
public struct PictureStatistics: Sendable, Equatable {
    /// Mean luma (16 is black and 235 white in video range).
    public var meanLuma: Double
    /// Mean absolute difference between neighbouring pixels: the picture's edges and texture.
    public var edgeEnergy: Double
    /// The same as the previous frame (every 16x16 block's sum and sum of squares).
    public var identicalToPrevious: Bool

    public init(meanLuma: Double, edgeEnergy: Double, identicalToPrevious: Bool) {
        self.meanLuma = meanLuma
        self.edgeEnergy = edgeEnergy
        self.identicalToPrevious = identicalToPrevious
    }
}

/// A way the camera's picture can be unusable. A struct with known values rather than an enum, so
/// new kinds can be added without breaking callers that switch over them.
public struct CameraHealthKind: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The picture stops changing at all while frames keep arriving.
    public static let frozen = CameraHealthKind(rawValue: "frozen")
    /// Near-uniform picture with its edges gone: something over the lens, or the camera blinded.
    public static let covered = CameraHealthKind(rawValue: "covered")
    /// The picture is black or nearly.
    public static let dark = CameraHealthKind(rawValue: "dark")

    public var description: String { rawValue }
}

/// A stretch of time in one health state.
public struct HealthEvent: Sendable, Equatable {
    public var kind: CameraHealthKind
    /// Media time of the first frame in the state, in seconds.
    public var start: Double
    /// Media time of the first frame out of it (or of the last frame at the end of the stream);
    /// nil while the state lasts.
    public var end: Double?

    public init(kind: CameraHealthKind, start: Double, end: Double? = nil) {
        self.kind = kind
        self.start = start
        self.end = end
    }
}

/// Turns per-frame picture statistics into health states: `dark` (mean luma below `darkLuma`),
/// `covered` (edge energy below `coveredEdges`), `frozen` (identical frames; the few changed
/// frames after a keyframe that re-encodes the frozen picture do not end it: a picture is live
/// again when 6 of its last 8 frames changed). A state begins once its condition has held for `healthDelay` seconds and
/// is then reported from the first frame of the condition; it ends on the first frame without it.
/// One state at a time, in the order dark, covered, frozen. Allocation-free.
public struct CameraHealthMonitor: Sendable {
    /// Changed frames among the last 8 that prove a picture is live again.
    static let liveFrames = 6

    public let darkLuma: Double
    public let coveredEdges: Double
    public let delay: Double

    /// The state under way.
    public private(set) var current: HealthEvent?
    /// The condition seen on recent frames, and since when.
    private var candidate: CameraHealthKind?
    private var candidateSince = 0.0
    /// The frozen condition: since when the picture has not been live.
    private var stillSince: Double?
    /// One bit for each of the last 8 frames, newest lowest: set when the frame changed.
    private var recentChanges: UInt8 = 0
    /// The first changed frame since the last identical one.
    private var changedSince = 0.0

    public init(config: DetectorConfig) {
        darkLuma = config.darkLuma
        coveredEdges = config.coveredEdges
        delay = config.healthDelay
    }

    /// What changed with one frame at media time `time`.
    public struct Transition: Sendable, Equatable {
        /// A state that ended on this frame (with its end time).
        public var ended: HealthEvent?
        /// A state that began (was confirmed) on this frame.
        public var started: HealthEvent?
    }

    /// `earliestStart` is when a condition seen now may have begun at the earliest, when frames
    /// before this one were not analysed (adaptive decoding); nil when the previous frame was.
    public mutating func observe(_ picture: PictureStatistics, at time: Double, earliestStart: Double? = nil)
        -> Transition
    {
        trackStillness(picture, at: time)
        let condition: CameraHealthKind? =
            picture.meanLuma < darkLuma ? .dark
            : picture.edgeEnergy < coveredEdges ? .covered
            : stillSince != nil ? .frozen : nil
        if condition != candidate {
            candidate = condition
            // Unseen frames: assume the condition began halfway through the gap, at most half the
            // delay ago, so it must still be seen for half the delay before it becomes a state.
            candidateSince = earliestStart.map { max(($0 + time) / 2, time - delay / 2) } ?? time
        }
        var transition = Transition()
        if let state = current, state.kind != condition {
            // A frozen picture lived again from the first of the changed frames that proved it.
            let end = state.kind == .frozen && condition == nil ? changedSince : time
            transition.ended = HealthEvent(kind: state.kind, start: state.start, end: end)
            current = nil
        }
        if current == nil, let condition, time - candidateSince >= delay {
            current = HealthEvent(kind: condition, start: candidateSince)
            transition.started = current
        }
        return transition
    }

    /// A condition showing that is not (yet) the state under way: it becomes a state if it holds
    /// for `delay`. Nil when there is none.
    public var confirming: CameraHealthKind? { candidate == current?.kind ? nil : candidate }

    /// How long the picture has stood still at `time`, in seconds (0 when it is live).
    public func stillDuration(at time: Double) -> Double {
        stillSince.map { time - $0 } ?? 0
    }

    /// Ends the state under way at `time` (end of stream, shutdown); returns it if there was one.
    public mutating func finish(at time: Double) -> HealthEvent? {
        defer { current = nil }
        return current.map { HealthEvent(kind: $0.kind, start: $0.start, end: time) }
    }

    private mutating func trackStillness(_ picture: PictureStatistics, at time: Double) {
        recentChanges = recentChanges << 1 | (picture.identicalToPrevious ? 0 : 1)
        if picture.identicalToPrevious {
            if stillSince == nil { stillSince = time }
            return
        }
        if recentChanges & 0b10 == 0 { changedSince = time }
        if recentChanges.nonzeroBitCount >= Self.liveFrames { stillSince = nil }
    }
}
