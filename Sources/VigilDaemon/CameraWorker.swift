import Foundation
import Logging
import Synchronization
import VigilDetector
import VigilIngest
import VigilPipeline
import VigilStore

/// What a worker is doing, for the daemon's status line and watchdog.
public enum WorkerState: String, Sendable {
    case connecting, streaming, backoff
    case credentialsRejected = "credentials rejected"
    case notFound = "not found"
    case stopped
}

/// Timing knobs of a camera worker (per camera in the config; defaults from the design).
public struct WorkerSettings: Sendable, Equatable {
    public var openTimeout: Duration = .seconds(10)
    public var readTimeout: Duration = .seconds(5)
    /// No frame for this long raises `camera_offline` (once, until frames flow again).
    public var offlineAfter: Duration = .seconds(15)
    public var reconnect = ReconnectPolicy()
    /// Decode without the H.264 loop filter: about 20% less CPU at 1080p with the same detection
    /// quality on the fixture suite (`vigil eval fixtures --skip-loop-filter`).
    public var skipLoopFilter = true
    /// Decode only keyframes while the scene is quiet (nil: every frame).
    public var adaptive: AdaptiveDecoding?
    /// No picture further behind real time than this many seconds is analysed: the worker skips to
    /// the live edge instead, and raises `camera_lagging` when it keeps falling behind.
    public var maximumLag = 2.0

    public init() {}
}

/// Watches one camera on a dedicated OS thread: connect through the shim, decode, detect, report.
///
/// Blocking reads never run on Swift's cooperative pool. Failures are classified and retried on
/// the `ReconnectPolicy`; a local video file is played at real-time pace and looped, like a camera.
/// Everything the worker learns goes out through `report`, called on the worker's thread.
public final class CameraWorker: Sendable {
    public let camera: Camera
    private let connectURL: String
    private let settings: CameraDetectionSettings
    private let timing: WorkerSettings
    private let takesSnapshots: Bool
    private let report: @Sendable (WorkerEvent) -> Void
    private let logger: Logger

    private let stopToken = StopToken()
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let stateValue = Mutex(WorkerState.connecting)
    /// Monotonic nanoseconds of the last sign of life (a frame, an attempt, a backoff tick).
    private let heartbeatNanos = Atomic<Int64>(monotonicNanos())
    /// Monotonic nanoseconds of the last video received (a frame, or a packet left undecoded).
    private let lastVideoNanos = Atomic<Int64>(monotonicNanos())
    private let offlineReported = Atomic<Bool>(false)
    private let frameCount = Atomic<Int>(0)
    private let staleCount = Atomic<Int>(0)
    private let packetsReceived = Atomic<Int>(0)
    private let packetsUndecoded = Atomic<Int>(0)
    /// While the camera is lagging, how far behind it fell, in milliseconds; -1 otherwise.
    private let laggingMillis = Atomic<Int>(-1)

    /// `connectURL` holds the credentials (percent-encoded); it is never logged unredacted. With
    /// `snapshots`, each `motionEnded` carries a JPEG of the event's peak frame.
    public init(camera: Camera, connectURL: String, settings: CameraDetectionSettings, timing: WorkerSettings = WorkerSettings(),
                snapshots: Bool = false, logger: Logger, report: @escaping @Sendable (WorkerEvent) -> Void) {
        self.camera = camera
        self.connectURL = connectURL
        self.settings = settings
        self.timing = timing
        self.takesSnapshots = snapshots
        self.logger = logger
        self.report = report
    }

    public var state: WorkerState { stateValue.withLock { $0 } }
    /// Frames decoded since the worker started.
    public var frames: Int { frameCount.load(ordering: .relaxed) }
    /// Packets and frames skipped to get back to the live edge.
    public var staleFrames: Int { staleCount.load(ordering: .relaxed) }
    /// While the camera is lagging (`camera_lagging` raised, not caught up yet): how far its pictures
    /// were behind real time when skipping ahead last gave up, in seconds; nil otherwise.
    public var laggingSeconds: Double? {
        let millis = laggingMillis.load(ordering: .relaxed)
        return millis < 0 ? nil : Double(millis) / 1000
    }
    /// Video packets received, and those never decoded (adaptive decoding), in finished sessions.
    public var packets: (received: Int, undecoded: Int) {
        (packetsReceived.load(ordering: .relaxed), packetsUndecoded.load(ordering: .relaxed))
    }

    private func countPackets(_ counters: SourceCounters) {
        packetsReceived.add(counters.packetsRead, ordering: .relaxed)
        packetsUndecoded.add(counters.packetsSkipped, ordering: .relaxed)
    }

    /// Seconds since the worker last showed a sign of life.
    public var secondsSinceHeartbeat: Double {
        Double(monotonicNanos() - heartbeatNanos.load(ordering: .relaxed)) / 1e9
    }

    /// Starts the worker's thread, named `vigil-cam-<camera id>` (cut to 15 bytes) in `top -H`.
    public func start() {
        let thread = Thread { [self] in
            ThreadName.setCurrent("vigil-cam-\(camera.id)")
            run()
            stateValue.withLock { $0 = .stopped }
            finished.signal()
        }
        thread.start()
    }

    /// Asks the worker to stop: a blocked open or read ends within about 0.1 s.
    public func requestStop() {
        stopRequested.store(true, ordering: .relaxed)
        stopToken.stop()
    }

    /// Waits for the worker's thread to finish; false on timeout.
    public func waitUntilStopped(timeout: Duration) -> Bool {
        finished.wait(timeout: .now() + .nanoseconds(Int(timeout.nanoseconds))) == .success
    }

    /// Raises `offline` once when no frame came for the threshold. Called periodically from outside,
    /// so a worker blocked in a long open still goes offline on time.
    public func checkOffline() {
        let silence = Double(monotonicNanos() - lastVideoNanos.load(ordering: .relaxed)) / 1e9
        guard silence >= timing.offlineAfter.seconds, !stopRequested.load(ordering: .relaxed) else { return }
        if !offlineReported.exchange(true, ordering: .relaxed) {
            report(.offline(reason: String(format: "no frame for %.0f s (%@)", silence, state.rawValue)))
        }
    }

    private var isStopping: Bool { stopRequested.load(ordering: .relaxed) }

    /// A local video file, played at real-time pace and looped, rather than a network camera.
    private var isFile: Bool { camera.streamURL.hasPrefix("/") }

    private func beat() {
        heartbeatNanos.store(monotonicNanos(), ordering: .relaxed)
    }

    private func videoArrived() {
        beat()
        lastVideoNanos.store(monotonicNanos(), ordering: .relaxed)
    }

    private func setState(_ state: WorkerState) {
        stateValue.withLock { $0 = state }
    }

    // MARK: The worker thread

    private func run() {
        var policy = timing.reconnect
        var credentialsReported = false, notFoundReported = false
        var lag = LagMonitor()
        var account = StageAccount()
        let probe = ReachabilityProbe(url: connectURL)
        while !isStopping {
            setState(.connecting)
            beat()
            var deliveredFrames = false
            let failure = runSession(lag: &lag, account: &account, onFrames: {
                deliveredFrames = true
                policy.sessionDeliveredFrames()
                credentialsReported = false
                notFoundReported = false
            })
            guard !isStopping else { break }
            // Loop a file like a live camera; one that yields no frame waits like a failing camera.
            if isFile, failure.code == .endOfStream, deliveredFrames { continue }
            if failure.code == .fellBehind {
                logger.info("reconnecting to drop the backlog: \(failure.reason)", metadata: ["camera": "\(camera.id)"])
                continue
            }
            switch failure.code {
            case .credentialsRejected:
                setState(.credentialsRejected)
                if !credentialsReported {
                    credentialsReported = true
                    report(.credentialsRejected(reason: failure.reason))
                }
            case .notFound:
                setState(.notFound)
                if !notFoundReported {
                    notFoundReported = true
                    report(.notFound(reason: failure.reason))
                }
            default:
                setState(.backoff)
            }
            let delay = policy.delay(after: failure.code)
            logger.warning("camera unavailable: \(failure.code): \(failure.reason); next attempt in \(delay.formattedSeconds)",
                           metadata: ["camera": "\(camera.id)"])
            if let probe, failure.code.isNetworkFailure {
                wait(for: delay, probing: probe, every: policy.probeInterval)
            } else {
                sleep(for: delay)
            }
        }
    }

    /// Waits out a backoff, probing the camera every `interval`: returns early when a probe succeeds
    /// after one failed (the link came back). A camera that accepts connections all along (its RTSP
    /// service fails, not the link) waits the whole backoff.
    private func wait(for delay: Duration, probing probe: ReachabilityProbe, every interval: Duration) {
        let deadline = monotonicSeconds() + delay.seconds
        var failedProbe = false
        while !isStopping {
            let left = deadline - monotonicSeconds()
            guard left > 0 else { return }
            sleep(for: .seconds(min(left, interval.seconds)))
            guard !isStopping, deadline - monotonicSeconds() > 0 else { return }
            let reachable = probe.canConnect(timeout: min(1, interval.seconds / 2))
            beat()
            if reachable, failedProbe {
                logger.info("camera reachable again: connecting now", metadata: ["camera": "\(camera.id)"])
                return
            }
            failedProbe = !reachable
        }
    }

    /// One connection: open, then frames until something fails. Returns why it ended. Every
    /// `StageAccount.logInterval` the stage figures go to the log at debug level.
    private func runSession(lag: inout LagMonitor, account: inout StageAccount, onFrames: () -> Void) -> MediaError {
        let source: MediaSource
        do {
            source = try MediaSource(url: connectURL, options: SourceOptions(
                openTimeout: timing.openTimeout, readTimeout: timing.readTimeout, skipLoopFilter: timing.skipLoopFilter),
                stopToken: stopToken)
        } catch {
            return error
        }
        logger.info("connected: \(source.info.codec) \(source.info.width)x\(source.info.height)",
                    metadata: ["camera": "\(camera.id)"])
        let feed = FrameFeed(source: source, adaptive: timing.adaptive, maximumLag: isFile ? nil : timing.maximumLag,
                             onPacket: { [self] in videoArrived() })
        account.sessionStarted()
        defer {
            countPackets(source.counters)
            account.takeDemux(source.counters)
        }
        let analyzer = CameraAnalyzer(settings: settings, nominalFrameRate: source.info.framesPerSecond)
        var pacer = isFile ? RealTimePacer() : nil
        var deliveredFrames = false
        /// The peak frame of the motion under way, copied when a frame becomes the peak.
        var peak = takesSnapshots ? LumaSnapshot() : nil
        /// Presentation time (or nil) and monotonic time of the last frame analysed.
        var lastAnalysed: (media: Double?, wall: Double)?
        var nextAccountLine = monotonicSeconds() + StageAccount.logInterval
        defer { handle(analyzer.finish(), of: analyzer, peak: peak, cut: .streamLost) }
        while true {
            let frame: DecodedFrame
            let wantsEveryFrame = analyzer.wantsEveryFrame
            do {
                frame = try feed.nextFrame(wantsEveryFrame: wantsEveryFrame)
                account.frameDecoded(by: feed, wantedEveryFrame: wantsEveryFrame)
            } catch {
                if error.code == .fellBehind {
                    staleCount.add(feed.framesSkippedToLiveEdge, ordering: .relaxed)
                    reportLag(lag.fellBehind(by: feed.behindSeconds, at: monotonicSeconds()))
                }
                return error
            }
            let now = monotonicSeconds()
            if var active = pacer {
                let media = frame.presentationTime ?? 0
                sleep(for: .seconds(active.wait(forMediaTime: media, now: now)))
                pacer = active
                if isStopping { return MediaError(code: .stopped, reason: "stopped") }
            }
            videoArrived()
            frameCount.add(1, ordering: .relaxed)
            if !deliveredFrames {
                deliveredFrames = true
                setState(.streaming)
                onFrames()
            }
            if offlineReported.exchange(false, ordering: .relaxed) { report(.online) }
            reportLag(lag.keptUp(at: now))
            // The background from before a skip still shows the scene: the analysis goes on across it
            // as across frames adaptive decoding skipped (a background learned afresh from a picture
            // with a person in it would see a ghost where they stood).
            let skipped = feed.framesSkippedToLiveEdge > 0
            if skipped {
                staleCount.add(feed.framesSkippedToLiveEdge, ordering: .relaxed)
                reportLag(lag.skipped(from: feed.lagBeforeSkip, at: now))
            }
            // Frames stopped for longer than the event gap (or a backlog was skipped, which only a
            // stop or a slow link makes): the event under way ends at the last analysed frame.
            if let last = lastAnalysed, analyzer.detection.isInMotionEvent {
                let gap = Self.gap(from: last, toMedia: frame.presentationTime, wall: now)
                if skipped || gap > settings.detector.eventGap {
                    handle(analyzer.detection.endMotionEvent(), of: analyzer, peak: peak, cut: .framesStopped(seconds: gap))
                }
            }
            lastAnalysed = (frame.presentationTime, now)
            let output = analyzer.process(frame, framesSkipped: feed.framesSkippedBefore + feed.framesSkippedToLiveEdge)
            if !output.isEmpty { handle(output, of: analyzer, peak: peak, cut: nil) }
            // After `handle`: an event split on this frame ends with the previous peak.
            if output.isNewPeak { peak?.copy(from: frame) }
            account.frameAnalysed()
            if now >= nextAccountLine {
                nextAccountLine = now + StageAccount.logInterval
                logger.debug("\(account.line(threadSeconds: threadCPUTime()))", metadata: ["camera": "\(camera.id)"])
            }
        }
    }

    /// Reports a change of the lagging state and keeps the figure for the status line.
    private func reportLag(_ change: LagMonitor.Change?) {
        switch change {
        case .started(let behind):
            laggingMillis.store(Int(behind * 1000), ordering: .relaxed)
            report(.lagging(behindSeconds: behind))
        case .ended:
            laggingMillis.store(-1, ordering: .relaxed)
            report(.caughtUp)
        case nil:
            break
        }
    }

    /// Seconds between the last frame analysed and one with presentation time `media` seen at `wall`: by
    /// the timestamps (frames that queued up locally are no gap), by the clock when they jump or lack.
    private static func gap(from last: (media: Double?, wall: Double), toMedia media: Double?, wall: Double) -> Double {
        if let media, let previous = last.media, media > previous, media - previous < LiveEdge.timestampJump {
            return media - previous
        }
        return wall - last.wall
    }

    /// Reports what a frame ended before what it started (a split event, one health state giving way to another).
    /// An ended event carries a snapshot of `peak` when there is one, and `cut` when its motion was not seen to end.
    private func handle(_ output: AnalyzerOutput, of analyzer: CameraAnalyzer, peak: LumaSnapshot?, cut: EventCut?) {
        if let ended = output.motionEnded {
            report(.motionEnded(ended, zones: analyzer.zoneNames(ended.zones), cut: cut,
                                snapshot: peak.flatMap { snapshot(of: $0, box: ended.box) }))
        }
        if let ended = output.healthEnded { report(.healthEnded(ended.kind)) }
        if let started = output.motionStarted {
            report(.motionStarted(started, zones: analyzer.zoneNames(started.zones)))
        }
        if let started = output.healthStarted { report(.healthStarted(started.kind)) }
    }

    /// The JPEG of `peak` with `box` drawn, or nil (logged) when it cannot be encoded.
    private func snapshot(of peak: LumaSnapshot, box: PixelBox) -> [UInt8]? {
        do {
            return try peak.jpeg(box: box, privacyMasks: settings.privacyMasks)
        } catch {
            logger.error("no snapshot for the motion event: \(error)", metadata: ["camera": "\(camera.id)"])
            return nil
        }
    }

    /// Sleeps in short steps so a stop request is honoured within 0.1 s.
    private func sleep(for duration: Duration) {
        let deadline = monotonicSeconds() + duration.seconds
        while !isStopping {
            let left = deadline - monotonicSeconds()
            guard left > 0 else { return }
            beat()
            Thread.sleep(forTimeInterval: min(left, 0.1))
        }
    }
}

func monotonicNanos() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

extension Duration {
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }

    var nanoseconds: Int64 {
        let (whole, fraction) = components
        return whole * 1_000_000_000 + fraction / 1_000_000_000
    }

    var formattedSeconds: String {
        String(format: "%.1f s", seconds)
    }
}
