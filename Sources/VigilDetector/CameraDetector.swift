/// What one frame changed for a camera: the moments a daemon raises alerts on.
///
/// Usually every field is nil. Several can be set at once: an event split at its maximum length
/// ends one event and starts the next on the same frame, and a health state can end as another
/// begins. Handle `motionEnded` before `motionStarted` and `healthEnded` before `healthStarted`.
public struct AnalyzerOutput: Sendable, Equatable {
    /// A motion event was confirmed on this frame: raise `motion_started` now. `start` is the
    /// event's first motion frame; `confirmedAt` is this frame. Box, zones and peak are those seen
    /// so far.
    public var motionStarted: MotionEvent?
    /// A motion event finished on this frame: raise `motion_ended` with its final start, end, peak
    /// area, peak time, union box and zones.
    public var motionEnded: MotionEvent?
    /// A health state began (its `end` is nil; `start` is when its condition first held).
    public var healthStarted: HealthEvent?
    /// A health state ended (with its `end`).
    public var healthEnded: HealthEvent?
    /// This frame is the peak so far of the motion under way (largest changed fraction): keep a copy
    /// of it for the event's snapshot. Raises no alert by itself.
    public var isNewPeak: Bool

    public init(motionStarted: MotionEvent? = nil, motionEnded: MotionEvent? = nil, healthStarted: HealthEvent? = nil,
                healthEnded: HealthEvent? = nil, isNewPeak: Bool = false)
    {
        self.motionStarted = motionStarted
        self.motionEnded = motionEnded
        self.healthStarted = healthStarted
        self.healthEnded = healthEnded
        self.isNewPeak = isNewPeak
    }

    /// No alert to raise on this frame (`isNewPeak` aside).
    public var isEmpty: Bool {
        motionStarted == nil && motionEnded == nil && healthStarted == nil && healthEnded == nil
    }
}

/// One camera's detection from luma planes to alerts: the motion detector, the event tracker and
/// the health monitor together, fed with each frame's media time. Allocation-free per frame once
/// the picture size is known. One instance per camera, used from one thread at a time.
public final class CameraDetector {
    public let detector: MotionDetector
    private var tracker: MotionEventTracker
    private var health: CameraHealthMonitor
    private var lastTime = 0.0
    /// When the view that is settling began to differ.
    private var newViewSince: Double?

    public init(settings: CameraDetectionSettings = CameraDetectionSettings(), isa: KernelISA = .best) {
        detector = MotionDetector(settings: settings, isa: isa)
        tracker = MotionEventTracker(config: settings.detector)
        health = CameraHealthMonitor(config: settings.detector)
    }

    public var settings: CameraDetectionSettings { detector.settings }

    /// The health state under way, if any.
    public var currentHealth: HealthEvent? { health.current }

    /// Whether a motion event is under way (confirmed, not yet ended).
    public var isInMotionEvent: Bool { tracker.isInEvent }

    /// Whether the detector needs every frame rather than an occasional one: the last frame showed
    /// motion, an event is under way, a health condition is being confirmed (it must hold for the
    /// health delay), the picture is frozen (to see it live again at once), or the light or the view
    /// changed lately (the quiet must be learned anew: the packet sizes of the new picture differ), or
    /// part of the scene moves in place (swaying leaves fill the packets: a person entering does not
    /// show in their sizes, and a keyframe check alone finds them up to a GOP late). A freeze itself is
    /// proven by keyframes, which adaptive decoding always decodes. Adaptive decoding decodes only
    /// keyframes while false.
    public private(set) var wantsEveryFrame = false

    /// Forgets the background (after a gap in the stream); events and health go on.
    public func reset() {
        detector.reset()
    }

    /// Analyses one frame at media time `time` (seconds, increasing). `followsSkippedFrames`: the
    /// frames since the last one analysed were not decoded (adaptive decoding).
    /// `isKeyframe`: the frame is a keyframe (keyframes that repeat prove a freeze).
    public func process(_ plane: LumaPlane, at time: Double, isKeyframe: Bool = false,
                        followsSkippedFrames: Bool = false) -> AnalyzerOutput
    {
        let previousTime = lastTime
        lastTime = time
        let analysis = detector.analyze(plane, isKeyframe: isKeyframe, blank: health.blankTest,
                                        isTracking: tracker.isInEvent,
                                        interval: min(1, max(0, time - previousTime)))
        let motion = tracker.observe(analysis, at: time)
        var change = health.observe(analysis.picture, at: time, earliestStart: followsSkippedFrames ? previousTime : nil)
        if analysis.viewMoved, change.started == nil, change.ended == nil {
            // A moment rather than a state: it starts and ends on this frame.
            let moved = HealthEvent(kind: .moved, start: newViewSince ?? time, end: time)
            change.started = moved
            change.ended = moved
        }
        // A new view began with the frame before the first still one (the jump).
        if !detector.isSettlingNewView { newViewSince = nil } else if newViewSince == nil { newViewSince = previousTime }
        wantsEveryFrame = analysis.isMotion || tracker.isInEvent || health.confirming != nil
            || health.current?.kind == .frozen || detector.isSettlingLight || detector.isSettlingNewView
            || detector.seesMovementInPlace
        return AnalyzerOutput(motionStarted: motion.started, motionEnded: motion.ended,
                              healthStarted: change.started, healthEnded: change.ended, isNewPeak: motion.isNewPeak)
    }

    /// Ends the motion event under way at the last frame's time, health going on (no frame came for
    /// longer than the event gap: motion after the gap is a new event).
    public func endMotionEvent() -> AnalyzerOutput {
        AnalyzerOutput(motionEnded: tracker.finish(at: lastTime))
    }

    /// Ends the motion event and the health state under way at the last frame's time (end of
    /// input or shutdown).
    public func finish() -> AnalyzerOutput {
        AnalyzerOutput(motionEnded: tracker.finish(at: lastTime), healthEnded: health.finish(at: lastTime))
    }
}
