/// A finished stretch of motion.
public struct MotionEvent: Sendable, Equatable {
    /// Media time of the first motion frame, in seconds.
    public var start: Double
    /// Media time of the first quiet frame after the last motion frame (or of the last frame
    /// when the stream ended during motion), in seconds.
    public var end: Double
    /// Largest changed fraction of the picture in one frame (0-1).
    public var peakArea: Double
    /// Media time of the frame with the largest changed fraction (for a snapshot).
    public var peakTime: Double
    /// Number of motion frames in the event.
    public var frames: Int
    /// Union of the changed boxes of all motion frames, in source pixels.
    public var box: PixelBox
}

/// Turns per-frame motion into events: an event starts after `minMotionFrames` consecutive
/// motion frames and ends after `eventGap` seconds without motion. Allocation-free.
public struct MotionEventTracker: Sendable {
    public let minMotionFrames: Int
    public let eventGap: Double

    /// The run of motion frames being watched (confirmed once long enough).
    private var pending: MotionEvent?
    private var consecutive = 0
    private var confirmed = false
    private var lastMotionTime = 0.0

    public init(minMotionFrames: Int, eventGap: Double) {
        self.minMotionFrames = minMotionFrames
        self.eventGap = eventGap
    }

    public init(config: DetectorConfig) {
        self.init(minMotionFrames: config.minMotionFrames, eventGap: config.eventGap)
    }

    /// Whether an event is under way (confirmed, not yet ended).
    public var isInEvent: Bool { confirmed }

    /// Feeds one analysed frame at media time `time`; returns an event when this frame ended one.
    public mutating func observe(_ analysis: FrameAnalysis, at time: Double) -> MotionEvent? {
        guard analysis.isMotion, let box = analysis.box else {
            return observeQuiet(at: time)
        }
        consecutive += 1
        lastMotionTime = time
        if var event = pending {
            event.frames += 1
            event.box = event.box.union(box)
            if analysis.changedFraction > event.peakArea {
                event.peakArea = analysis.changedFraction
                event.peakTime = time
            }
            event.end = time
            pending = event
        } else {
            pending = MotionEvent(start: time, end: time, peakArea: analysis.changedFraction, peakTime: time,
                                  frames: 1, box: box)
        }
        if consecutive >= minMotionFrames { confirmed = true }
        return nil
    }

    private mutating func observeQuiet(at time: Double) -> MotionEvent? {
        if consecutive > 0, confirmed { pending?.end = time }
        consecutive = 0
        guard confirmed else {
            pending = nil
            return nil
        }
        return time - lastMotionTime > eventGap ? close() : nil
    }

    /// Ends an event under way (end of stream, shutdown); returns it if there was one.
    public mutating func finish() -> MotionEvent? {
        guard confirmed else {
            pending = nil
            consecutive = 0
            return nil
        }
        return close()
    }

    private mutating func close() -> MotionEvent? {
        let event = pending
        pending = nil
        confirmed = false
        consecutive = 0
        return event
    }
}
