import VigilDetector
import VigilIngest

/// The per-camera path from decoded frames to alerts, shared by `vigil replay` and the daemon so
/// that replays test what production runs.
///
/// The daemon calls `process(_:)` for every decoded frame, on the thread that owns the camera, and
/// acts on the returned `AnalyzerOutput`: `motionStarted` when an event is confirmed (raise
/// `motion_started` with its `start`), `motionEnded` when it finishes (raise `motion_ended` with
/// peak area, peak time, union box and `zoneNames(_:)`), `healthStarted`/`healthEnded` for
/// `frozen`, `covered` and `dark`. At shutdown or end of input it calls `finish()` once. Times are
/// media seconds since the first frame. Allocation-free per frame once the picture size is known.
public final class CameraAnalyzer {
    public let detection: CameraDetector
    private var clock: MediaClock
    /// Frames analysed by the detector.
    public private(set) var analysedFrames = 0
    /// Frames skipped because the decoder flagged them as corrupt.
    public private(set) var corruptFrames = 0

    public init(settings: CameraDetectionSettings, nominalFrameRate: Double?, isa: KernelISA = .best) {
        detection = CameraDetector(settings: settings, isa: isa)
        clock = MediaClock(nominalFrameRate: nominalFrameRate)
    }

    /// Media time of the last frame seen, in seconds since the first.
    public var mediaTime: Double { clock.time ?? 0 }

    /// Whether the detection needs every frame decoded (see `CameraDetector.wantsEveryFrame`).
    public var wantsEveryFrame: Bool { detection.wantsEveryFrame }

    /// Analyses one frame; returns what it started or ended. A corrupt frame is skipped (its
    /// concealment smears would look like motion) and changes nothing. `framesSkipped` frames
    /// before it were deliberately not decoded (adaptive decoding); the gap is not a break.
    public func process(_ frame: DecodedFrame, framesSkipped: Int = 0) -> AnalyzerOutput {
        let (time, discontinuity) = clock.advance(presentationTime: frame.presentationTime,
                                                  framesSkipped: framesSkipped)
        if discontinuity { detection.reset() }
        guard !frame.isCorrupt else {
            corruptFrames += 1
            return AnalyzerOutput()
        }
        analysedFrames += 1
        let plane = LumaPlane(base: frame.luma, stride: frame.lumaStride, width: frame.width, height: frame.height)
        return detection.process(plane, at: time, isKeyframe: frame.isKeyframe, followsSkippedFrames: framesSkipped > 0)
    }

    /// Ends the motion event and health state under way (end of input or shutdown).
    public func finish() -> AnalyzerOutput {
        detection.finish()
    }

    /// The names of the zones in an event's `zones`, in configuration order.
    public func zoneNames(_ zones: ZoneSet) -> [String] {
        detection.settings.zoneNames(zones)
    }
}
