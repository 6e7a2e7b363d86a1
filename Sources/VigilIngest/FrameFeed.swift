/// Settings of adaptive decoding: decode only keyframes while the scene is quiet.
public struct AdaptiveDecoding: Sendable, Equatable {
    /// Seconds without motion (and with no event under way) before decoding drops to keyframes.
    public var quietSeconds: Double
    /// Streams whose keyframes are further apart than this are always decoded in full: the onset
    /// delay and the GOP kept in memory grow with the interval.
    public var maximumKeyframeInterval: Double
    /// Streams whose P-frame packets average more than this share of their GOP's keyframe packet are
    /// always decoded in full: their packets carry sensor noise, rain or a constant bit rate, and a
    /// person adds too little to show in their sizes. Measured (docs/benchmarks-stages.md): streams
    /// encoded for a quality (CRF) 0.1-2.9% when quiet, rain and heavy noise above 13%, x264 at a
    /// constant bit rate 5.9-16% whatever the scene.
    public var maximumQuietShare: Double
    /// Seconds of full decoding after a keyframe check found motion the packet sizes had not
    /// announced (doubling with each such miss in a row, up to a day; see `PacketWakeUpHoldOff`).
    public var missHoldOffSeconds: Double

    public init(quietSeconds: Double = 5, maximumKeyframeInterval: Double = 10, maximumQuietShare: Double = 0.05,
                missHoldOffSeconds: Double = 600) {
        self.quietSeconds = quietSeconds
        self.maximumKeyframeInterval = maximumKeyframeInterval
        self.maximumQuietShare = maximumQuietShare
        self.missHoldOffSeconds = missHoldOffSeconds
    }
}

/// Learns the sizes of a quiet scene's P-frame packets and notices when they grow: an encoder
/// spends more bits when something moves.
///
/// Each packet is measured against the learned quiet mean in units of the learned spread (mean
/// absolute deviation, with a floor of `minimumSpread` bytes and a tenth of the mean); a cumulative
/// sum of these excesses, less `drift` per packet, reports growth once it passes `threshold`. A
/// person adds a little to many packets in a row and passes it within a few packets; a single
/// noisy packet does not. The first `settlingPackets` after a keyframe (the encoder refines the
/// picture there) are neither judged nor learned. Only packets that look plainly quiet are learned,
/// so a moving object that lasts does not become the quiet level.
public struct PacketSizeMonitor: Sendable {
    public let drift: Double
    public let threshold: Double
    /// The threshold is multiplied by this (raised after wake-ups that showed nothing).
    public var thresholdScale = 1.0
    /// Packets learned before changes are trusted.
    public let warmUpPackets: Int
    public static let settlingPackets = 3
    public static let minimumSpread = 8.0
    private var mean = 0.0
    private var spread = 0.0
    private var keyframes = 0
    private var keyframeSize = 0.0
    /// P-frame bytes and packets since the last keyframe, and the average P-frame share of a keyframe
    /// over the last GOPs (nil before a whole GOP went by).
    private var gopBytes = 0.0
    private var gopPackets = 0
    private var gops = 0
    private var gopShare: Double?
    private var learned = 0
    private var sum = 0.0
    private var sinceKeyframe = Int.max

    public init(drift: Double = 0.5, threshold: Double = 5, warmUpPackets: Int = 15) {
        self.drift = drift
        self.threshold = threshold
        self.warmUpPackets = warmUpPackets
    }

    /// Whether enough quiet packets were seen to judge changes.
    public var isReady: Bool { learned >= warmUpPackets && keyframes > 0 }

    /// The learned size of a quiet P-frame packet, in bytes (an average over about 2 s).
    public var quietLevel: Double { mean }

    /// The mean P-frame size of a GOP as a share of its keyframe's size, averaged over about the
    /// last four GOPs (infinity until a whole GOP went by). Whole GOPs, because a constant-bit-rate
    /// encoder starves the P-frames before each keyframe to make room for it.
    public var quietShare: Double { gopShare ?? .infinity }

    /// Notes a keyframe packet of `size` bytes.
    public mutating func keyframe(_ size: Int) {
        keyframes += 1
        if gopPackets > 0, keyframeSize > 0 {
            let share = gopBytes / Double(gopPackets) / keyframeSize
            gops += 1
            gopShare = (gopShare ?? share) + (share - (gopShare ?? share)) / Double(min(gops, 4))
        }
        keyframeSize = Double(size)
        gopBytes = 0
        gopPackets = 0
        sinceKeyframe = 0
        sum = 0
    }

    /// Judges a P-frame packet of `size` bytes: true when the sizes grew. A packet that changes
    /// nothing is learned.
    public mutating func judge(_ size: Int) -> Bool {
        guard advance(size), isReady else {
            learnSettled(size)
            return false
        }
        let excess = (Double(size) - mean) / scale
        sum = max(0, sum + excess - drift)
        if sum >= threshold * thresholdScale {
            sum = 0
            return true
        }
        if sum == 0 { learnSettled(size) }
        return false
    }

    /// A P-frame packet of `size` bytes decoded in full: learned when the scene is `quiet`.
    public mutating func learn(_ size: Int, quiet: Bool = true) {
        if advance(size), quiet { learnSettled(size) }
    }

    /// The unit of the excess: the learned spread, at least `minimumSpread` bytes and a tenth of the mean.
    private var scale: Double { max(spread, Self.minimumSpread, mean / 10) }

    /// Counts one more P-frame of `size` bytes since the keyframe; false while the encoder is still settling.
    private mutating func advance(_ size: Int) -> Bool {
        gopBytes += Double(size)
        gopPackets += 1
        if sinceKeyframe < Int.max { sinceKeyframe += 1 }
        return sinceKeyframe > Self.settlingPackets
    }

    private mutating func learnSettled(_ size: Int) {
        guard sinceKeyframe > Self.settlingPackets else { return }
        // Once learned, a packet counts at most three spreads above the mean: one burst (a light
        // switched on, a keyframe-like refresh) must not blunt the monitor for seconds.
        let value = isReady ? min(Double(size), mean + 3 * scale) : Double(size)
        let rate = learned < 32 ? 1 / Double(learned + 1) : 1.0 / 32
        spread += (abs(value - mean) - spread) * (learned == 0 ? 0 : rate)
        mean += (value - mean) * rate
        learned += 1
    }
}

/// The frames of one source to analyse: every frame, or with `AdaptiveDecoding`, only keyframes
/// while the scene is quiet.
///
/// Adaptive decoding always demuxes, and the source keeps the current GOP's packets. After
/// `quietSeconds` of quiet it decodes only each GOP's keyframe and watches the P-frame packet
/// sizes. When the analysis of a keyframe wants every frame (motion; the caller says so through
/// `wantsEveryFrame`) or the packet sizes grow (`PacketSizeMonitor`), it decodes the buffered
/// GOP from its keyframe to catch up and then every frame until the scene is quiet again. It stays
/// in full decoding where the packet sizes cannot show a person (`maximumQuietShare`: noise, rain, a
/// constant bit rate), woke it for nothing four times in a row, or missed motion a keyframe check
/// found (`PacketWakeUpHoldOff`): a keyframe check alone would find motion up to a GOP late. Replay and the daemon both read through a feed, so they run the same decoding
/// decisions.
public final class FrameFeed {
    public let source: MediaSource
    public let adaptive: AdaptiveDecoding?
    /// Called for every packet read while decoding adaptively: the stream is alive even when no
    /// frame is returned for a GOP.
    private let onPacket: (() -> Void)?
    private var monitor: PacketSizeMonitor
    private let framesPerSecond: Double
    private var quietFrames = 0
    private let quietFramesNeeded: Int
    private var lastKeyframeTime: Double?
    private var keyframeInterval: Double?
    private var seenKeyframe = false
    private var packetsSinceKeyframe = 0
    private let maximumKeyframePackets: Double
    /// The live edge when full decoding was woken, while frames before it are being caught up.
    private var catchUpEnd: Double?
    /// A wake-up by the packet sizes whose frames have not shown anything yet.
    private var unprovenWakeUp = false
    /// How far the last frame returned was behind the live edge of the wake-up it is caught up for
    /// (0 when it was not a catch-up frame), in seconds of media time.
    private var lastCatchUpLag = 0.0
    /// Motion the catch-up after a size wake-up finds further back than this (seconds before the
    /// packet that woke it) was announced late by the sizes: it counts as a miss, as motion a
    /// keyframe check finds does. Measured (docs/benchmarks-stages.md): on time, the sizes wake
    /// within half a second; a noisy stream near the share limit woke 3 s after the walker entered.
    static let lateWakeUpSeconds = 1.0
    private var holdOff: PacketWakeUpHoldOff
    /// Presentation time of the newest packet demuxed (the live edge).
    public private(set) var newestPacketTime: Double?
    /// Pictures further behind the live stream than this many seconds are not returned (nil: no bound).
    public let maximumLag: Double?
    private var liveEdge = LiveEdge()
    /// How far the last frame returned was behind the live stream, in seconds (with `maximumLag`;
    /// after `.fellBehind`, how far the stream was behind when skipping gave up).
    public private(set) var behindSeconds = 0.0
    /// Packets read undecoded and pictures dropped to get back to the live edge before the last frame
    /// returned (0 when none).
    public private(set) var framesSkippedToLiveEdge = 0
    /// How far behind the newest packet was when the last skip to the live edge began, in seconds.
    public private(set) var lagBeforeSkip = 0.0
    /// Times full decoding was woken: by the packet sizes, by the analysis of a keyframe.
    public private(set) var packetWakeUps = 0
    public private(set) var keyframeWakeUps = 0
    /// Packets demuxed while producing the last frame returned.
    public private(set) var packetsForLastFrame = 0
    /// Whether the last frame returned was a keyframe decoded alone while the scene was quiet.
    public private(set) var lastFrameWasKeyframeCheck = false

    /// With `maximumLag` (seconds), the feed keeps to the live edge (see `nextFrame(wantsEveryFrame:)`).
    public init(source: MediaSource, adaptive: AdaptiveDecoding? = nil, maximumLag: Double? = nil,
                onPacket: (() -> Void)? = nil) {
        self.source = source
        self.adaptive = adaptive
        self.maximumLag = maximumLag
        self.onPacket = onPacket
        monitor = PacketSizeMonitor()
        holdOff = PacketWakeUpHoldOff(firstAfterMiss: adaptive?.missHoldOffSeconds ?? 0)
        framesPerSecond = source.info.framesPerSecond ?? 15
        quietFramesNeeded = Int(((adaptive?.quietSeconds ?? 0) * framesPerSecond).rounded(.up))
        maximumKeyframePackets = (adaptive?.maximumKeyframeInterval ?? 0) * framesPerSecond
    }

    /// Whether every frame is being decoded (always true without adaptive decoding).
    public private(set) var isDecodingEveryFrame = true

    /// Whether the last frame returned was decoded from buffered packets after a wake-up: it is
    /// behind the live stream on purpose.
    public var isCatchingUp: Bool { catchUpEnd != nil }

    /// Packets demuxed but not decoded between the previous frame returned and the last one
    /// (0 while decoding every frame): the analysis should expect the gap in time.
    public private(set) var framesSkippedBefore = 0

    /// The next frame to analyse. `wantsEveryFrame` is what the analysis of the previous frame
    /// asks for (motion, an event under way). Throws like `MediaSource.nextFrame()`.
    ///
    /// With `maximumLag`, no picture further behind the live stream than that is returned (except
    /// those adaptive decoding catches up on a GOP with on purpose, while the newest packet is within
    /// it). When the newest packet itself is further behind (a backlog delivered after a stall, a
    /// link slower than the stream), packets are read without decoding until a keyframe arrives
    /// within half the bound; decoding then goes on from it. If skipping does not catch up, it
    /// throws `.fellBehind`: only a new session drops a backlog held in the network.
    public func nextFrame(wantsEveryFrame: Bool) throws(MediaError) -> DecodedFrame {
        framesSkippedToLiveEdge = 0
        if adaptive != nil { follow(wantsEveryFrame: wantsEveryFrame) }
        while true {
            let frame = try decodedFrame()
            guard let maximumLag else { return frame }
            let now = monotonicSeconds()
            let edgeLag = liveEdge.behind(media: newestPacketTime, at: now) ?? 0
            if edgeLag > maximumLag {
                framesSkippedToLiveEdge += 1
                try skipToLiveEdge(lag: edgeLag, resumeBelow: maximumLag / 2)
                // Decode from the keyframe the skip stopped at, whatever the mode.
                if adaptive != nil, !isDecodingEveryFrame { wake() }
                continue
            }
            behindSeconds = isCatchingUp ? edgeLag : liveEdge.behind(media: frame.presentationTime, at: now) ?? edgeLag
            if behindSeconds > maximumLag, !isCatchingUp {
                framesSkippedToLiveEdge += 1
                continue
            }
            return frame
        }
    }

    /// Reads packets without decoding them until a keyframe arrives less than `resumeBelow` seconds
    /// behind (decoding restarts from it). Keyframes are the largest packets, so they show the lag at
    /// its worst on a slow link. Gives up after a second when the keyframes' lag did not come down by
    /// half a second for each second spent (a backlog delivered in a burst drains at once;
    /// reconnecting beats a slow catch-up), or after 5 s.
    private func skipToLiveEdge(lag: Double, resumeBelow: Double) throws(MediaError) {
        let start = monotonicSeconds()
        lagBeforeSkip = lag
        var lowest = lag
        while true {
            let packet = try source.readPacket()
            onPacket?()
            passed(isKeyframe: packet.isKeyframe, at: packet.presentationTime)
            framesSkippedToLiveEdge += 1
            let now = monotonicSeconds()
            let behind = liveEdge.behind(media: packet.presentationTime, at: now) ?? 0
            if packet.isKeyframe {
                if behind < resumeBelow { return }
                lowest = min(lowest, behind)
            }
            let elapsed = now - start
            if elapsed >= 5 || (elapsed >= 1 && lowest > lag - 0.5 * elapsed) {
                behindSeconds = max(lag, behind)
                let tenths = (behindSeconds * 10).rounded() / 10
                throw MediaError(code: .fellBehind,
                                 reason: "\(tenths) s behind the live stream and not catching up by skipping ahead")
            }
        }
    }

    /// The next frame by the decoding mode alone, live edge aside.
    private func decodedFrame() throws(MediaError) -> DecodedFrame {
        guard adaptive != nil else {
            packetsForLastFrame = 1
            let frame = try source.nextFrame()
            passedLiveEdge(at: frame.presentationTime)
            return frame
        }
        framesSkippedBefore = 0
        packetsForLastFrame = 0
        lastFrameWasKeyframeCheck = false
        lastCatchUpLag = 0
        while true {
            if isDecodingEveryFrame {
                // Buffered packets first (the catch-up), then read on; a stream that sends no
                // picture within the read deadline is stalled, as without adaptive decoding.
                let frame = try source.nextFrame()
                packetsForLastFrame += 1
                passed(isKeyframe: frame.isKeyframe, at: frame.presentationTime)
                if let time = frame.presentationTime, let catchUpEnd, time < catchUpEnd {
                    lastCatchUpLag = catchUpEnd - time
                    return frame  // still catching up: its packets were judged already
                }
                catchUpEnd = nil
                if frame.isKeyframe {
                    monitor.keyframe(frame.packetSize)
                } else {
                    monitor.learn(frame.packetSize, quiet: quietFrames > 0)
                }
                return frame
            }
            let packet = try source.readPacket()  // at the end of input, the undecoded tail is dropped
            packetsForLastFrame += 1
            onPacket?()
            passed(isKeyframe: packet.isKeyframe, at: packet.presentationTime)
            if packet.isKeyframe {
                monitor.keyframe(packet.size)
                if let frame = try keyframePicture() {
                    lastFrameWasKeyframeCheck = true
                    return frame
                }
                wake()  // the keyframe gave no picture: decoding every frame reports why
            } else if Double(packetsSinceKeyframe) > overdueKeyframePackets {
                wake()  // keyframes stopped coming or spread out: the next check is overdue
            } else if monitor.judge(packet.size) {
                packetWakeUps += 1
                unprovenWakeUp = true
                wake()
            } else {
                framesSkippedBefore += 1
            }
        }
    }

    /// The picture of the keyframe just read. Pictures the decoder still held back from the previous
    /// GOP (streams with B-frames) come out first; they are passed over.
    private func keyframePicture() throws(MediaError) -> DecodedFrame? {
        while let frame = try source.decodeBuffered(drain: true) {
            if frame.isKeyframe { return frame }
        }
        return nil
    }

    /// Packets after which a keyframe is overdue: half an interval late, and never beyond the maximum.
    private var overdueKeyframePackets: Double {
        min(1.5 * (keyframeInterval ?? 0) * framesPerSecond, maximumKeyframePackets)
    }

    /// Keeps the count of frames since the last keyframe, the keyframe interval, the hold-offs
    /// and the live edge up to date for one packet or frame that went by.
    private func passed(isKeyframe: Bool, at time: Double?) {
        holdOff.count()
        passedLiveEdge(at: time)
        guard isKeyframe else {
            packetsSinceKeyframe += 1
            return
        }
        if seenKeyframe {
            let interval = time.flatMap { time in lastKeyframeTime.map { time - $0 } }
                ?? Double(packetsSinceKeyframe + 1) / framesPerSecond
            if interval > 0 { keyframeInterval = interval }
        }
        seenKeyframe = true
        lastKeyframeTime = time ?? lastKeyframeTime
        packetsSinceKeyframe = 0
    }

    /// Takes the newest packet into the live edge (`time`: of the packet or frame that went by).
    private func passedLiveEdge(at time: Double?) {
        newestPacketTime = source.newestPacketTime ?? time ?? newestPacketTime
        if maximumLag != nil { liveEdge.packetArrived(media: newestPacketTime, at: monotonicSeconds()) }
    }

    /// Switches between full and keyframe-only decoding after the caller analysed a frame.
    private func follow(wantsEveryFrame: Bool) {
        if wantsEveryFrame {
            quietFrames = 0
            if unprovenWakeUp {
                unprovenWakeUp = false
                if lastCatchUpLag > Self.lateWakeUpSeconds {
                    holdOff.missed(framesPerSecond: framesPerSecond)  // woken, but late
                } else {
                    holdOff.proven()
                }
                monitor.thresholdScale = holdOff.thresholdScale
            }
            if !isDecodingEveryFrame {
                keyframeWakeUps += 1
                holdOff.missed(framesPerSecond: framesPerSecond)
                wake()
            }
            return
        }
        guard isDecodingEveryFrame, let adaptive else { return }
        if !isCatchingUp { quietFrames += 1 }  // quiet counts from the live edge on
        guard quietFrames >= quietFramesNeeded else { return }
        if unprovenWakeUp {
            unprovenWakeUp = false
            holdOff.fruitless(framesPerSecond: framesPerSecond)
            monitor.thresholdScale = holdOff.thresholdScale
        }
        // Keyframes must come at most `maximumKeyframeInterval` apart, the last two and since the
        // last one, and the packet sizes must be able to show a person.
        if monitor.isReady, !holdOff.isActive, monitor.quietShare <= adaptive.maximumQuietShare, let keyframeInterval,
           keyframeInterval <= adaptive.maximumKeyframeInterval, Double(packetsSinceKeyframe) <= maximumKeyframePackets
        {
            isDecodingEveryFrame = false
        }
    }

    private func wake() {
        isDecodingEveryFrame = true
        catchUpEnd = newestPacketTime
        quietFrames = 0
        framesSkippedBefore = 0  // the skipped packets are decoded now
    }
}

/// What the packet sizes' mistakes do. Each of the first `desensitizingWakeUps` wake-ups in a row
/// that showed nothing doubles the monitor's threshold (rate control swings the sizes of some
/// streams); the next one keeps every frame decoded for 30 s, doubling with each further one up to
/// 10 minutes. Motion that a keyframe check found while the sizes had not announced it (a miss: the
/// alert came up to a GOP late) keeps every frame decoded for `firstAfterMiss` seconds, doubling with
/// each miss in a row up to a day: where the sizes follow noise, rain or the rate control rather than the
/// picture (a constant bit rate), keyframe checks alone would find motion a GOP late. A wake-up by
/// the sizes whose catch-up shows the motion more than `FrameFeed.lateWakeUpSeconds` before it
/// counts as a miss too; one that showed motion on time resets both.
struct PacketWakeUpHoldOff {
    static let desensitizingWakeUps = 3
    static let first = 30.0
    static let longest = 600.0
    static let longestAfterMiss = 86_400.0
    let firstAfterMiss: Double
    private var fruitlessInARow = 0
    private var missesInARow = 0
    private var packetsLeft = 0

    init(firstAfterMiss: Double) {
        self.firstAfterMiss = firstAfterMiss
    }

    var isActive: Bool { packetsLeft > 0 }

    /// The factor on the monitor's threshold.
    var thresholdScale: Double { Double(1 << min(fruitlessInARow, Self.desensitizingWakeUps)) }

    /// One more packet went by.
    mutating func count() {
        if packetsLeft > 0 { packetsLeft -= 1 }
    }

    mutating func fruitless(framesPerSecond: Double) {
        fruitlessInARow += 1
        let beyond = fruitlessInARow - Self.desensitizingWakeUps - 1
        guard beyond >= 0 else { return }
        holdOff(seconds: Self.first * Double(1 << min(beyond, 16)), longest: Self.longest, framesPerSecond)
    }

    /// A keyframe check found motion the sizes had not announced.
    mutating func missed(framesPerSecond: Double) {
        missesInARow += 1
        holdOff(seconds: firstAfterMiss * Double(1 << min(missesInARow - 1, 16)), longest: Self.longestAfterMiss,
                framesPerSecond)
    }

    mutating func proven() {
        fruitlessInARow = 0
        missesInARow = 0
    }

    /// Keeps every frame decoded for `seconds` (at most `longest`) from now, unless already for longer.
    private mutating func holdOff(seconds: Double, longest: Double, _ framesPerSecond: Double) {
        packetsLeft = max(packetsLeft, Int(min(seconds, longest) * framesPerSecond))
    }
}
