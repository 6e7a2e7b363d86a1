import VigilDetector
import VigilIngest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One finished event as `vigil replay` prints it (a JSON Lines object): a motion event, or a
/// camera-health state (`frozen`, `covered`, `dark`) that has only `kind`, `camera`, `start`, `end`.
public struct ReplayEvent: Sendable, Equatable, Encodable {
    /// `motion`, `frozen`, `covered` or `dark`.
    public var kind: String
    public var camera: String
    /// Seconds of media time since the first decoded frame, 3 decimals.
    public var start: Double
    public var end: Double
    /// Motion only: when the event was confirmed (an alert would be raised).
    public var confirmed: Double?
    /// Motion only, with adaptive decoding: when a live camera would have raised the alert, in the
    /// same media time. Later than `confirmed` when the confirming frame was decoded while catching
    /// up on a GOP (the newest packet demuxed by then is the live edge).
    public var raised: Double?
    /// Motion only: largest changed fraction of the picture (0-1).
    public var peakArea: Double?
    /// Motion only: media time of the peak frame.
    public var peakTime: Double?
    /// Motion only: motion frames in the event.
    public var frames: Int?
    /// Motion only: union bounding box `[x, y, w, h]` in source pixels.
    public var box: PixelBox?
    /// Motion only: names of the zones the motion reached (empty when none).
    public var zones: [String]?

    public init(camera: String, event: MotionEvent, zones: [String]) {
        kind = "motion"
        self.camera = camera
        start = event.start.rounded(toPlaces: 3)
        end = event.end.rounded(toPlaces: 3)
        confirmed = event.confirmedAt.rounded(toPlaces: 3)
        peakArea = event.peakArea.rounded(toPlaces: 5)
        peakTime = event.peakTime.rounded(toPlaces: 3)
        frames = event.frames
        box = event.box
        self.zones = zones
    }

    public init(camera: String, health: HealthEvent) {
        kind = health.kind.rawValue
        self.camera = camera
        start = health.start.rounded(toPlaces: 3)
        end = (health.end ?? health.start).rounded(toPlaces: 3)
    }

    enum CodingKeys: String, CodingKey {
        case kind, camera, start, end, confirmed, raised, frames, box, zones
        case peakArea = "peak_area"
        case peakTime = "peak_time"
    }
}

/// What a replay did, for `--summary` and the benchmark.
public struct ReplaySummary: Sendable {
    public var frames = 0
    /// Video packets demuxed, and handed to the decoder (fewer with adaptive decoding).
    public var packetsRead = 0
    public var packetsDecoded = 0
    /// Adaptive decoding: times full decoding was woken by a packet-size jump and by a keyframe.
    public var packetWakeUps = 0
    public var keyframeWakeUps = 0
    /// Adaptive decoding, while the scene was quiet: CPU seconds spent (demuxing, decoding the
    /// keyframes and analysing them) and the packets (frames of video) they covered.
    public var keyframeModeSeconds = 0.0
    public var keyframeModePackets = 0
    public var corruptFrames = 0
    public var rejectedPackets = 0
    /// CPU seconds spent decoding and detecting (the calling thread's clock).
    public var decodeSeconds = 0.0
    public var detectSeconds = 0.0
    /// Set when the input ended with an error rather than a clean end of stream (truncated,
    /// corrupt); events up to that point were still reported.
    public var endedEarly: MediaError?
}

/// Decodes a video file as fast as possible and runs the same per-camera analysis as the daemon.
/// Deterministic: the output depends only on the input and the config.
public enum Replay {
    /// Replays the file at `path` with `settings`; `onEvent` gets each finished event (motion and
    /// health) in the order they finish. `skipLoopFilter` decodes without the H.264 loop filter,
    /// as the daemon can for analysis-only decoding; `adaptive` decodes only keyframes while the
    /// scene is quiet, as the daemon does with `daemon.adaptive_decoding`.
    public static func run(path: String, camera: String, settings: CameraDetectionSettings,
                           isa: KernelISA = .best, skipLoopFilter: Bool = false, adaptive: AdaptiveDecoding? = nil,
                           onEvent: (ReplayEvent) -> Void) throws(MediaError) -> ReplaySummary
    {
        let source = try MediaSource(url: path, options: SourceOptions(openTimeout: .zero, readTimeout: .zero,
                                                                       skipLoopFilter: skipLoopFilter))
        let feed = FrameFeed(source: source, adaptive: adaptive)
        let analyzer = CameraAnalyzer(settings: settings, nominalFrameRate: source.info.framesPerSecond, isa: isa)
        /// How far the confirming frame of the event under way was behind the newest packet.
        var raiseLag = 0.0
        func report(_ output: AnalyzerOutput) {
            if let event = output.motionEnded {
                var line = ReplayEvent(camera: camera, event: event, zones: analyzer.zoneNames(event.zones))
                if adaptive != nil { line.raised = (event.confirmedAt + raiseLag).rounded(toPlaces: 3) }
                onEvent(line)
            }
            if let health = output.healthEnded { onEvent(ReplayEvent(camera: camera, health: health)) }
        }
        var summary = ReplaySummary()
        while true {
            let decodeStart = threadCPUTime()
            let frame: DecodedFrame
            do {
                frame = try feed.nextFrame(wantsEveryFrame: analyzer.wantsEveryFrame)
            } catch {
                if error.code != .endOfStream { summary.endedEarly = error }
                break
            }
            let detectStart = threadCPUTime()
            summary.decodeSeconds += detectStart - decodeStart
            let output = analyzer.process(frame, framesSkipped: feed.framesSkippedBefore)
            let detectEnd = threadCPUTime()
            summary.detectSeconds += detectEnd - detectStart
            if feed.lastFrameWasKeyframeCheck {
                summary.keyframeModeSeconds += detectEnd - decodeStart
                summary.keyframeModePackets += feed.packetsForLastFrame
            }
            summary.frames += 1
            if output.motionStarted != nil, let newest = feed.newestPacketTime, let time = frame.presentationTime {
                raiseLag = max(0, newest - time)
            }
            report(output)
        }
        report(analyzer.finish())
        let counters = source.counters
        summary.corruptFrames = analyzer.corruptFrames
        summary.rejectedPackets = counters.packetsRejected
        summary.packetsRead = counters.packetsRead
        summary.packetsDecoded = counters.packetsDecoded
        summary.packetWakeUps = feed.packetWakeUps
        summary.keyframeWakeUps = feed.keyframeWakeUps
        return summary
    }
}

/// CPU seconds used by the calling thread.
public func threadCPUTime() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let scale = [1.0, 10, 100, 1000, 10_000, 100_000, 1_000_000][places]
        return (self * scale).rounded() / scale
    }
}
