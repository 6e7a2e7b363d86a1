/// Whole-picture measurements of one frame, on the averaged picture.
public struct PictureStatistics: Sendable, Equatable {
    /// Mean luma (16 is black and 235 white in video range).
    public var meanLuma: Double
    /// Mean absolute difference between neighbouring pixels: the picture's edges and texture.
    public var edgeEnergy: Double
    /// The same as the previous frame (every 16x16 block's sum and sum of squares).
    public var identicalToPrevious: Bool
    /// On a keyframe: the mean absolute difference from the previous keyframe's picture, in levels
    /// (nil on other frames and on the first keyframe). A live camera's keyframes re-encode fresh
    /// sensor noise and differ by a level or more; a frozen picture's repeat it almost exactly.
    public var keyframeChange: Double?

    public init(meanLuma: Double, edgeEnergy: Double, identicalToPrevious: Bool, keyframeChange: Double? = nil) {
        self.meanLuma = meanLuma
        self.edgeEnergy = edgeEnergy
        self.identicalToPrevious = identicalToPrevious
        self.keyframeChange = keyframeChange
    }
}

/// A way the camera's picture can be unusable. A struct with known values rather than an enum, so
/// new kinds can be added without breaking callers that switch over them.
public struct CameraHealthKind: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The picture stops changing at all while frames keep arriving: its keyframes repeat.
    public static let frozen = CameraHealthKind(rawValue: "frozen")
    /// Near-uniform picture with its edges gone: something over the lens, or the camera blinded.
    public static let covered = CameraHealthKind(rawValue: "covered")
    /// The picture is black or nearly.
    public static let dark = CameraHealthKind(rawValue: "dark")
    /// The view was shifted or turned for good (a bumped or re-aimed camera): a moment, not a
    /// state; it starts when the view changed and ends when the new one was stable and learned.
    public static let moved = CameraHealthKind(rawValue: "moved")

    /// Every kind the detector reports (the daemon maps each to an alert kind).
    public static let all: [CameraHealthKind] = [.frozen, .covered, .dark, .moved]

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

/// The one test of a picture that shows nothing: dark (mean luma below `darkBelow`) or covered (edge
/// energy below `coveredBelow`). The health monitor reports these states with it, and the motion
/// detector follows such a picture instead of comparing it (uncovering the lens is not motion).
public struct BlankPictureTest: Sendable, Equatable {
    public var darkBelow: Double
    public var coveredBelow: Double

    public init(darkBelow: Double, coveredBelow: Double) {
        self.darkBelow = darkBelow
        self.coveredBelow = coveredBelow
    }

    /// The fixed thresholds of `config`, before a camera's normal edge energy is learned.
    public init(config: DetectorConfig) {
        self.init(darkBelow: config.darkLuma, coveredBelow: config.coveredEdges)
    }

    /// `.dark`, `.covered` or nil; dark first.
    public func condition(of picture: PictureStatistics) -> CameraHealthKind? {
        picture.meanLuma < darkBelow ? .dark : picture.edgeEnergy < coveredBelow ? .covered : nil
    }
}

/// Turns per-frame picture statistics into health states:
///
/// - `dark`: mean luma below `darkLuma`.
/// - `covered`: the edges are gone: edge energy below `coveredEdges` (no view is that flat), or
///   below `coveredDrop` of the edge energy this camera normally shows. The normal level is learned
///   with a time constant of `learningSeconds` on healthy frames, so night falling over minutes is
///   followed while a hand or a bag over the lens (a second) is not.
/// - `frozen`: the picture stands still (identical frames; the few changed frames after a keyframe
///   that re-encodes the frozen picture do not end it: a picture is live again when 6 of its last 8
///   frames changed) and its last keyframe repeated the one before (`keyframeChange` under
///   `repeatedKeyframeChange`). A live but quiet scene that the encoder skip-codes repeats pictures
///   between keyframes too, but its keyframes carry fresh sensor noise.
///
/// A state begins once its condition has held for `healthDelay` seconds and is then reported from
/// the first frame of the condition (a freeze: from the first still frame); it ends on the first
/// frame without it. One state at a time, in the order dark, covered, frozen. Allocation-free.
public struct CameraHealthMonitor: Sendable {
    /// Changed frames among the last 8 that prove a picture is live again.
    static let liveFrames = 6
    /// Mean difference between two keyframes (levels, averaged picture) below which the second
    /// repeats the first: re-encoding a frozen picture gives under 0.1, a live quiet scene 1 or more.
    public static let repeatedKeyframeChange = 0.25
    /// Time constant of the learned normal edge energy, in seconds.
    public static let learningSeconds = 30.0

    public let darkLuma: Double
    public let coveredEdges: Double
    public let coveredDrop: Double
    public let delay: Double

    /// The state under way.
    public private(set) var current: HealthEvent?
    /// The condition seen on recent frames, and since when.
    private var candidate: CameraHealthKind?
    private var candidateSince = 0.0
    /// Since when the picture has not been live (identical frames).
    private var stillSince: Double?
    /// One bit for each of the last 8 frames, newest lowest: set when the frame changed.
    private var recentChanges: UInt8 = 0
    /// The first changed frame since the last identical one.
    private var changedSince = 0.0
    /// The last keyframe repeated the one before, and the picture has not lived since.
    private var keyframesRepeat = false
    /// The edge energy this camera normally shows (learned on healthy frames), and when it was last learned.
    public private(set) var normalEdges: Double?
    private var learnedAt = 0.0

    public init(config: DetectorConfig) {
        darkLuma = config.darkLuma
        coveredEdges = config.coveredEdges
        coveredDrop = config.coveredDrop
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
        if let change = picture.keyframeChange { keyframesRepeat = change < Self.repeatedKeyframeChange }
        let condition: CameraHealthKind? =
            blankTest.condition(of: picture) ?? (stillSince != nil && keyframesRepeat ? .frozen : nil)
        if condition == nil, candidate == nil { learnEdges(picture.edgeEnergy, at: time) }
        if condition == .dark || condition == .covered {
            // Nothing to see stands still by nature: a freeze must be proven afresh afterwards.
            stillSince = nil
            keyframesRepeat = false
        }
        if condition != candidate {
            candidate = condition
            if condition == .frozen, let stillSince {
                candidateSince = stillSince  // proven by the keyframes, it began with the stillness
            } else {
                // Unseen frames: assume the condition began halfway through the gap, at most half the
                // delay ago, so it must still be seen for half the delay before it becomes a state.
                candidateSince = earliestStart.map { max(($0 + time) / 2, time - delay / 2) } ?? time
            }
        }
        var transition = Transition()
        if let state = current, state.kind != condition {
            // A frozen picture lived again from the first of the changed frames that proved it (or
            // with the keyframe that did not repeat).
            let end = state.kind == .frozen && condition == nil && recentChanges & 1 != 0 ? changedSince : time
            transition.ended = HealthEvent(kind: state.kind, start: state.start, end: end)
            current = nil
        }
        if current == nil, let condition, time - candidateSince >= delay {
            current = HealthEvent(kind: condition, start: candidateSince)
            transition.started = current
        }
        return transition
    }

    /// Edge energy below which the picture is covered: `coveredEdges`, or `coveredDrop` of the
    /// learned normal edge energy if that is higher.
    public var coveredThreshold: Double { max(coveredEdges, coveredDrop * (normalEdges ?? 0)) }

    /// The dark and covered test with this camera's thresholds, as the motion detector also applies it.
    public var blankTest: BlankPictureTest { BlankPictureTest(darkBelow: darkLuma, coveredBelow: coveredThreshold) }

    /// A condition showing that is not (yet) the state under way: it becomes a state if it holds
    /// for `delay`. Nil when there is none.
    public var confirming: CameraHealthKind? { candidate == current?.kind ? nil : candidate }

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
        if recentChanges.nonzeroBitCount >= Self.liveFrames {
            stillSince = nil
            keyframesRepeat = false
        }
    }

    /// Moves the learned normal edge energy towards `edges`, by the time since the last frame
    /// learned over `learningSeconds` (the first frame sets it).
    private mutating func learnEdges(_ edges: Double, at time: Double) {
        let weight = normalEdges == nil ? 1 : min(1, max(0, time - learnedAt) / Self.learningSeconds)
        normalEdges = (normalEdges ?? edges) + weight * (edges - (normalEdges ?? edges))
        learnedAt = time
    }
}
