import Foundation
import Logging
import Metrics
import Synchronization
import VigilDetector
import VigilIngest
import VigilPipeline
import VigilStore

/// What a worker is doing (the status board shows it as the camera's `CameraConnection`).
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
/// Everything the worker learns goes out through `report`, called on the worker's thread (and on the
/// supervisor's for `offline`). It keeps the camera's entry on the `CameraStatusBoard` current: its
/// connection, picture conditions, and its counters and stream figures once a second.
public final class CameraWorker: Sendable {
    public let camera: Camera
    private let board: CameraStatusBoard
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
    /// Whether `offline` was reported and `online` not yet: read on every frame without a lock; changed
    /// only under `offlineTransition`, which also covers the report, so `offline` and `online` reach
    /// the queue in the order they happened.
    private let offlineReported: Atomic<Bool>
    private let offlineTransition = Mutex<Void>(())
    private let ended = Atomic<Bool>(false)
    private let frameCount = Atomic<Int>(0)
    private let staleCount = Atomic<Int>(0)
    private let packetsReceived = Atomic<Int>(0)
    private let packetsUndecoded = Atomic<Int>(0)
    /// While the camera is lagging, how far behind it fell, in milliseconds; -1 otherwise.
    private let laggingMillis = Atomic<Int>(-1)

    /// `connectURL` holds the credentials (percent-encoded); it is never logged unredacted. With
    /// `snapshots`, each `motionEnded` carries a JPEG of the event's peak frame. `offline` says that the
    /// camera's previous worker reported it offline: the first frame then reports `online`.
    public init(camera: Camera, connectURL: String, settings: CameraDetectionSettings, timing: WorkerSettings = WorkerSettings(),
                snapshots: Bool = false, board: CameraStatusBoard, offline: Bool = false, logger: Logger,
                report: @escaping @Sendable (WorkerEvent) -> Void) {
        self.camera = camera
        self.board = board
        offlineReported = Atomic(offline)
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

    /// Whether `offline` was reported and frames have not flowed since.
    public var isOffline: Bool { offlineReported.load(ordering: .relaxed) }

    /// Whether the worker's thread has ended.
    public var hasEnded: Bool { ended.load(ordering: .acquiring) }

    /// Starts the worker's thread, named `vigil-cam-<camera id>` (cut to 15 bytes) in `top -H`.
    public func start() {
        let thread = Thread { [self] in
            ThreadName.setCurrent("vigil-cam-\(camera.id)")
            run()
            stateValue.withLock { $0 = .stopped }
            ended.store(true, ordering: .releasing)
            finished.signal()
        }
        thread.start()
    }

    /// Asks the worker to stop: a blocked open or read ends within about 0.1 s.
    public func requestStop() {
        stopRequested.store(true, ordering: .relaxed)
        stopToken.stop()
    }

    /// Waits for the worker's thread to finish, until `deadline` (monotonic seconds); false when it did not.
    /// Blocks the calling thread: never call it on the cooperative pool.
    public func waitUntilStopped(deadline: Double) -> Bool {
        guard !hasEnded else { return true }
        let left = max(0, deadline - monotonicSeconds())
        guard finished.wait(timeout: .now() + .nanoseconds(Int(left * 1e9))) == .success else { return false }
        finished.signal()  // later waits see it ended too
        return true
    }

    /// Raises `offline` once when no frame came for the threshold. Called periodically from outside,
    /// so a worker blocked in a long open still goes offline on time.
    /// The report waits for the alert's commit: call it from a thread of its own.
    public func checkOffline() {
        guard isOfflineDue else { return }
        reportOffline(reconnectReason: nil) { String(format: "no frame for %.0f s (%@)", $0, self.state.rawValue) }
    }

    /// Raises `offline` (unless it already was) because the worker stopped showing signs of life: its
    /// thread is stuck, and the supervisor restarts it.
    public func reportStuck() {
        reportOffline(reconnectReason: "stuck") {
            String(format: "the camera's worker was stuck for %.0f s; restarting it", $0)
        }
    }

    /// Reports `offline` once, with the reason made from the seconds of silence (`reconnectReason` counts a
    /// reconnection on the board when the camera was streaming). The flag, the board and the report change
    /// together under `offlineTransition`, so a frame arriving meanwhile reports `online` only after this
    /// `offline` is queued.
    private func reportOffline(reconnectReason: String?, reason: (Double) -> String) {
        guard !stopRequested.load(ordering: .relaxed) else { return }
        // Not waiting for the lock: whoever holds it is reporting `online` (frames flow), or is a worker
        // stuck in that report, which must not stall the supervisor too.
        _ = offlineTransition.withLockIfAvailable { _ in
            guard !offlineReported.load(ordering: .relaxed) else { return }
            offlineReported.store(true, ordering: .relaxed)
            board.setConnection(.offline, camera: camera.id, reason: reconnectReason)
            report(.offline(reason: reason(silence)))
        }
    }

    /// Frames flow: reports `online` if `offline` was reported (and nothing when it was not: one atomic
    /// load per frame).
    private func reportOnlineIfOffline() {
        guard offlineReported.load(ordering: .relaxed) else { return }
        offlineTransition.withLock { _ in
            guard offlineReported.load(ordering: .relaxed) else { return }
            offlineReported.store(false, ordering: .relaxed)
            board.setConnection(.streaming, camera: camera.id)
            report(.online)
        }
    }

    /// Whether ``checkOffline()`` would report `offline` now. Cheap and never blocks.
    public var isOfflineDue: Bool {
        silence >= timing.offlineAfter.seconds && !stopRequested.load(ordering: .relaxed)
            && !offlineReported.load(ordering: .relaxed)
    }

    /// Seconds since the last video frame (or since the worker started).
    private var silence: Double { Double(monotonicNanos() - lastVideoNanos.load(ordering: .relaxed)) / 1e9 }

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

    /// Sets the worker's state and the camera's connection on the board (which stays `offline` while the
    /// camera is reported offline). `reason` names why a stream was lost, for the reconnection counts.
    private func setState(_ state: WorkerState, reason: String? = nil) {
        stateValue.withLock { $0 = state }
        let connection: CameraConnection = switch state {
        case .connecting: .connecting
        case .streaming: .streaming
        case .backoff: .backoff
        case .credentialsRejected: .credentialsRejected
        case .notFound: .notFound
        case .stopped: .stopped
        }
        if isOffline, connection == .connecting || connection == .backoff {
            board.setConnection(.offline, camera: camera.id, reason: reason)
        } else {
            board.setConnection(connection, camera: camera.id, reason: reason)
        }
    }

    // MARK: The worker thread

    private func run() {
        var policy = timing.reconnect
        var credentialsReported = false, notFoundReported = false
        var lag = LagMonitor()
        var account = StageAccount()
        let probe = ReachabilityProbe(url: connectURL)
        /// Why the last session ended, when it is reconnected at once (a looped file, a dropped backlog).
        var reconnectReason: String?
        while !isStopping {
            setState(.connecting, reason: reconnectReason)
            beat()
            var deliveredFrames = false
            let failure = runSession(lag: &lag, account: &account, onFrames: {
                deliveredFrames = true
                policy.sessionDeliveredFrames()
                credentialsReported = false
                notFoundReported = false
            })
            guard !isStopping else { break }
            let reason = failure.code.description.replacingOccurrences(of: " ", with: "_")
            reconnectReason = nil
            if deliveredFrames, !isFile || failure.code != .endOfStream {
                CameraSeries.reconnected(camera: camera.id, reason: reason)
            }
            // Loop a file like a live camera; one that yields no frame waits like a failing camera.
            if isFile, failure.code == .endOfStream, deliveredFrames { continue }
            if failure.code == .fellBehind {
                logger.info("reconnecting to drop the backlog: \(failure.reason)", metadata: ["camera": "\(camera.id)"])
                reconnectReason = reason
                continue
            }
            switch failure.code {
            case .credentialsRejected:
                setState(.credentialsRejected, reason: reason)
                if !credentialsReported {
                    credentialsReported = true
                    report(.credentialsRejected(reason: failure.reason))
                }
            case .notFound:
                setState(.notFound, reason: reason)
                if !notFoundReported {
                    notFoundReported = true
                    report(.notFound(reason: failure.reason))
                }
            default:
                setState(.backoff, reason: reason)
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
        var figures = StreamFigures(camera: camera.id, counters: source.counters, at: monotonicSeconds())
        let decodeTimer = Metrics.Timer(label: "vigil_decode_seconds")
        let detectTimer = Metrics.Timer(label: "vigil_detect_seconds")
        account.sessionStarted()
        defer {
            figures.post(to: board, counters: source.counters, at: monotonicSeconds())
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
                let reading = account.frameDecoded(by: feed, wantedEveryFrame: wantsEveryFrame)
                decodeTimer.recordNanoseconds(Int64(reading * 1e9))
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
            figures.frameDecoded(width: frame.width, height: frame.height)
            if now - figures.since >= StreamFigures.interval {
                figures.post(to: board, counters: source.counters, at: now)
            }
            if !deliveredFrames {
                deliveredFrames = true
                setState(.streaming)
                onFrames()
            }
            reportOnlineIfOffline()
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
            detectTimer.recordNanoseconds(Int64(account.frameAnalysed() * 1e9))
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
            board.setCondition(.lagging, true, camera: camera.id, behindSeconds: behind)
            report(.lagging(behindSeconds: behind))
        case .ended:
            laggingMillis.store(-1, ordering: .relaxed)
            board.setCondition(.lagging, false, camera: camera.id)
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
        if let ended = output.healthEnded {
            if let condition = ended.kind.condition { board.setCondition(condition, false, camera: camera.id) }
            report(.healthEnded(ended.kind))
        }
        if let started = output.motionStarted {
            report(.motionStarted(started, zones: analyzer.zoneNames(started.zones)))
        }
        if let started = output.healthStarted {
            if let condition = started.kind.condition { board.setCondition(condition, true, camera: camera.id) }
            report(.healthStarted(started.kind))
        }
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

/// A session's counters and stream figures not yet on the board: the frame loop adds to them without a
/// lock or an allocation, and posts them to the board (and the `vigil_camera_frames_total` and
/// `vigil_camera_packets_total` metrics) once every ``interval`` and when the session ends.
private struct StreamFigures {
    static let interval = 1.0
    let camera: String
    /// Monotonic seconds of the last post.
    private(set) var since: Double
    private var frames = 0
    private var width = 0, height = 0
    private var posted: SourceCounters
    private let framesTotal: Counter
    private let packetsDecoded: Counter
    private let packetsUndecoded: Counter

    init(camera: String, counters: SourceCounters, at now: Double) {
        self.camera = camera
        since = now
        posted = counters
        framesTotal = CameraSeries.frames(camera: camera)
        packetsDecoded = CameraSeries.packets(camera: camera, decoded: true)
        packetsUndecoded = CameraSeries.packets(camera: camera, decoded: false)
    }

    mutating func frameDecoded(width: Int, height: Int) {
        frames += 1
        self.width = width
        self.height = height
    }

    /// Adds what happened since the last post to the camera's counters; the pictures per second are the
    /// video packets received per second (adaptive decoding leaves some undecoded, the stream has them).
    mutating func post(to board: CameraStatusBoard, counters: SourceCounters, at now: Double) {
        let packets = counters.packetsRead - posted.packetsRead
        let decoded = counters.packetsDecoded - posted.packetsDecoded
        let elapsed = now - since
        board.count(camera: camera, frames: frames, packets: packets, packetsDecoded: decoded,
                    framesPerSecond: elapsed >= Self.interval / 2 ? Double(packets) / elapsed : nil,
                    width: width > 0 ? width : nil, height: height > 0 ? height : nil)
        framesTotal.increment(by: frames)
        packetsDecoded.increment(by: max(0, decoded))
        packetsUndecoded.increment(by: max(0, packets - decoded))
        frames = 0
        posted = counters
        since = now
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
