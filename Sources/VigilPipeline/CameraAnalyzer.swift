import VigilDetector
import VigilIngest

/// The per-camera path from decoded frames to motion events, shared by `vigil replay` and the
/// daemon so that replays test what production runs. Allocation-free per frame.
public final class CameraAnalyzer {
    public let detector: MotionDetector
    private var tracker: MotionEventTracker
    private var clock: MediaClock
    /// Frames analysed by the detector.
    public private(set) var analysedFrames = 0
    /// Frames skipped because the decoder flagged them as corrupt.
    public private(set) var corruptFrames = 0

    public init(config: DetectorConfig, nominalFrameRate: Double?, isa: KernelISA = .best) {
        detector = MotionDetector(config: config, isa: isa)
        tracker = MotionEventTracker(config: config)
        clock = MediaClock(nominalFrameRate: nominalFrameRate)
    }

    /// Whether a motion event is confirmed and not yet ended.
    public var isInEvent: Bool { tracker.isInEvent }

    /// Media time of the last frame seen, in seconds since the first.
    public var mediaTime: Double { clock.time ?? 0 }

    /// Analyses one frame; returns the event it ended, if any.
    public func process(_ frame: DecodedFrame) -> MotionEvent? {
        let (time, discontinuity) = clock.advance(presentationTime: frame.presentationTime)
        if discontinuity { detector.reset() }
        guard !frame.isCorrupt else {
            corruptFrames += 1
            return nil
        }
        analysedFrames += 1
        let plane = LumaPlane(base: frame.luma, stride: frame.lumaStride, width: frame.width, height: frame.height)
        return tracker.observe(detector.analyze(plane), at: time)
    }

    /// Closes an event still under way (end of input or shutdown).
    public func finish() -> MotionEvent? {
        tracker.finish()
    }
}
