/// A stretch of motion: finished when it comes out of `MotionEventTracker` as ended.
public struct MotionEvent: Sendable, Equatable {
    /// Media time of the first motion frame, in seconds.
    public var start: Double
    /// Media time at which the event was confirmed (`minMotionFrames` consecutive motion frames,
    /// cooldown over): when an alert is raised.
    public var confirmedAt: Double
    /// Media time of the first quiet frame after the last motion frame (or of the last frame
    /// when the stream ended during motion, or of the split when the event reached its maximum
    /// length), in seconds.
    public var end: Double
    /// Largest changed fraction of the picture in one frame (0-1).
    public var peakArea: Double
    /// Media time of the frame with the largest changed fraction (for a snapshot).
    public var peakTime: Double
    /// Number of motion frames in the event.
    public var frames: Int
    /// Union of the boxes of all motion frames, in source pixels.
    public var box: PixelBox
    /// The zones the motion reached (empty when the camera has none).
    public var zones: ZoneSet

    public init(start: Double, confirmedAt: Double, end: Double, peakArea: Double, peakTime: Double, frames: Int,
                box: PixelBox, zones: ZoneSet)
    {
        self.start = start
        self.confirmedAt = confirmedAt
        self.end = end
        self.peakArea = peakArea
        self.peakTime = peakTime
        self.frames = frames
        self.box = box
        self.zones = zones
    }
}

/// Turns per-frame motion into events. An event is confirmed after `minMotionFrames` consecutive
/// motion frames (and not before `cooldown` seconds after the previous event ended), ends after
/// `eventGap` seconds without motion, and is split when it has lasted `maxEventLength` seconds.
/// Allocation-free.
public struct MotionEventTracker: Sendable {
    public let minMotionFrames: Int
    public let eventGap: Double
    public let maxEventLength: Double
    public let cooldown: Double

    /// What one frame did to the events.
    public struct Update: Sendable, Equatable {
        /// An event that ended on this frame (or was split at its maximum length).
        public var ended: MotionEvent?
        /// An event confirmed on this frame: raise its alert now. Its `end`, `peakArea`, `box` and
        /// `zones` are those seen so far.
        public var started: MotionEvent?
        /// This frame has the largest changed fraction so far of the run of motion frames under way
        /// (confirmed or not): the frame to keep for the event's snapshot.
        public var isNewPeak = false
    }

    /// The run of motion frames being watched, or the confirmed event.
    private var pending: MotionEvent?
    private var consecutive = 0
    private var confirmed = false
    private var lastMotionTime = 0.0
    /// No event is confirmed before this media time.
    private var quietUntil = -Double.infinity

    public init(minMotionFrames: Int, eventGap: Double, maxEventLength: Double = 0, cooldown: Double = 0) {
        self.minMotionFrames = minMotionFrames
        self.eventGap = eventGap
        self.maxEventLength = maxEventLength
        self.cooldown = cooldown
    }

    public init(config: DetectorConfig) {
        self.init(minMotionFrames: config.minMotionFrames, eventGap: config.eventGap,
                  maxEventLength: config.maxEventLength, cooldown: config.cooldown)
    }

    /// Whether an event is under way (confirmed, not yet ended).
    public var isInEvent: Bool { confirmed }

    /// Feeds one analysed frame at media time `time`.
    public mutating func observe(_ analysis: FrameAnalysis, at time: Double) -> Update {
        guard analysis.isMotion, let box = analysis.box else {
            return Update(ended: observeQuiet(at: time))
        }
        var update = Update()
        if confirmed, maxEventLength > 0, let event = pending, time - event.start >= maxEventLength {
            update.ended = close(at: time)
            // The motion goes on: the next event starts here, confirmed at once.
            consecutive = minMotionFrames - 1
            quietUntil = -Double.infinity
        }
        consecutive += 1
        lastMotionTime = time
        if var event = pending {
            event.frames += 1
            event.box = event.box.union(box)
            event.zones.formUnion(analysis.zones)
            if analysis.changedFraction > event.peakArea {
                event.peakArea = analysis.changedFraction
                event.peakTime = time
                update.isNewPeak = true
            }
            event.end = time
            pending = event
        } else {
            pending = MotionEvent(start: time, confirmedAt: time, end: time, peakArea: analysis.changedFraction,
                                  peakTime: time, frames: 1, box: box, zones: analysis.zones)
            update.isNewPeak = true
        }
        if !confirmed, consecutive >= minMotionFrames, time >= quietUntil {
            confirmed = true
            pending?.confirmedAt = time
            update.started = pending
        }
        return update
    }

    private mutating func observeQuiet(at time: Double) -> MotionEvent? {
        if consecutive > 0, confirmed { pending?.end = time }
        consecutive = 0
        guard confirmed else {
            pending = nil
            return nil
        }
        return time - lastMotionTime > eventGap ? close(at: time) : nil
    }

    /// Ends an event under way at `time` (end of stream, shutdown); returns it if there was one.
    public mutating func finish(at time: Double) -> MotionEvent? {
        guard confirmed else {
            pending = nil
            consecutive = 0
            return nil
        }
        return close(at: time)
    }

    private mutating func close(at time: Double) -> MotionEvent? {
        if consecutive > 0 { pending?.end = time }
        let event = pending
        pending = nil
        confirmed = false
        consecutive = 0
        quietUntil = time + cooldown
        return event
    }
}
