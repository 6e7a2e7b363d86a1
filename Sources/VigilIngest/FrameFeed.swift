/// Settings of adaptive decoding: decode only keyframes while the scene is quiet.
public struct AdaptiveDecoding: Sendable, Equatable {
    /// Seconds without motion (and with no event under way) before decoding drops to keyframes.
    public var quietSeconds: Double
    /// A P-frame packet this many times the learned quiet size wakes full decoding...
    public var packetJumpRatio: Double
    /// ...if it is also at least this many bytes above it (tiny packets jump in ratio on any noise).
    public var packetJumpBytes: Int
    /// Streams whose keyframes are further apart than this are always decoded in full: the onset
    /// delay and the GOP kept in memory grow with the interval.
    public var maximumKeyframeInterval: Double

    public init(quietSeconds: Double = 5, packetJumpRatio: Double = 2, packetJumpBytes: Int = 64,
                maximumKeyframeInterval: Double = 10) {
        self.quietSeconds = quietSeconds
        self.packetJumpRatio = packetJumpRatio
        self.packetJumpBytes = packetJumpBytes
        self.maximumKeyframeInterval = maximumKeyframeInterval
    }
}

/// Learns the size of a quiet scene's P-frame packets and notices when they change: an encoder
/// spends more bits when the picture changes, and a fixed minimum when nothing changes at all.
///
/// A packet has grown when it is at least `jumpRatio` times the learned level, `jumpBytes` above
/// it, and a quarter above the largest recent quiet packet (rate control makes sizes swing within
/// a GOP), for `jumpRun` packets in a row (a single noisy packet is not a change).
public struct PacketSizeMonitor: Sendable {
    /// What a packet says about the picture.
    public enum Change: Sendable, Equatable {
        /// Much larger than the quiet level: something moves or the light changes.
        case grew
        /// The same size, under half the quiet level, `collapseRun` times in a row: the encoder codes
        /// no change at all (a frozen or black picture; live pictures always carry some noise).
        case collapsed
    }

    public let jumpRatio: Double
    public let jumpBytes: Int
    /// Packets above the limit in a row that make a change.
    public let jumpRun: Int
    /// Packets learned before changes are trusted.
    public let warmUpPackets: Int
    /// Packets of one size in a row that make a collapse.
    public let collapseRun: Int
    private var level = 0.0
    /// The largest recent quiet packet, decaying by 2% per packet (a half-life of about 2.3 s at 15 fps).
    private var ceiling = 0.0
    private var learned = 0
    private var growing = 0
    private var collapsing = 0
    private var lastSize = -1

    public init(jumpRatio: Double, jumpBytes: Int, jumpRun: Int = 3, warmUpPackets: Int = 15, collapseRun: Int = 8) {
        self.jumpRatio = jumpRatio
        self.jumpBytes = jumpBytes
        self.jumpRun = jumpRun
        self.warmUpPackets = warmUpPackets
        self.collapseRun = collapseRun
    }

    /// Whether enough quiet packets were seen to judge changes.
    public var isReady: Bool { learned >= warmUpPackets }

    /// The learned size of a quiet P-frame packet, in bytes (an average over about 2 s).
    public var quietLevel: Double { level }

    /// Judges a P-frame packet of `size` bytes; a packet that changes nothing is learned.
    public mutating func judge(_ size: Int) -> Change? {
        guard isReady else {
            learn(size)
            return nil
        }
        let value = Double(size)
        let aboveLevel = value > max(level * jumpRatio, level + Double(jumpBytes))
        if aboveLevel, value > ceiling * 1.25 {
            collapsing = 0
            growing += 1
            guard growing >= jumpRun else { return nil }
            growing = 0
            return .grew
        }
        growing = 0
        collapsing = value < level / 2 && size == lastSize ? collapsing + 1 : 0
        lastSize = size
        if collapsing + 1 >= collapseRun {
            collapsing = 0
            return .collapsed
        }
        // Only plainly quiet packets are learned: a moving object's packets that dip under the
        // ceiling now and then must not lift it.
        if collapsing == 0, !aboveLevel { learn(size) }
        return nil
    }

    /// Takes a P-frame packet of a quiet scene into the learned level.
    public mutating func learn(_ size: Int) {
        let value = Double(size)
        let rate = learned < 32 ? 1 / Double(learned + 1) : 1.0 / 32
        level += (value - level) * rate
        ceiling = max(value, ceiling * 0.98)
        learned += 1
    }
}

/// The frames of one source to analyse: every frame, or with `AdaptiveDecoding`, only keyframes
/// while the scene is quiet.
///
/// Adaptive decoding always demuxes, and the source keeps the current GOP's packets. After
/// `quietSeconds` of quiet it decodes only each GOP's keyframe and watches the P-frame packet
/// sizes. When the analysis of a keyframe wants every frame (motion; the caller says so through
/// `wantsEveryFrame`) or the packet sizes change (`PacketSizeMonitor`), it decodes the buffered
/// GOP from its keyframe to catch up and then every frame until the scene is quiet again. Replay
/// and the daemon both read through a feed, so they run the same decoding decisions.
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
    private var unprovenWakeUp: PacketSizeMonitor.Change?
    private var growthHoldOff = PacketWakeUpHoldOff()
    private var collapseHoldOff = PacketWakeUpHoldOff()
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
        monitor = PacketSizeMonitor(jumpRatio: adaptive?.packetJumpRatio ?? 1,
                                    jumpBytes: adaptive?.packetJumpBytes ?? 0)
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
        while true {
            if isDecodingEveryFrame {
                // Buffered packets first (the catch-up), then read on; a stream that sends no
                // picture within the read deadline is stalled, as without adaptive decoding.
                let frame = try source.nextFrame()
                packetsForLastFrame += 1
                passed(isKeyframe: frame.isKeyframe, at: frame.presentationTime)
                if let time = frame.presentationTime, let catchUpEnd, time < catchUpEnd {
                    return frame  // still catching up
                }
                catchUpEnd = nil
                if !frame.isKeyframe, quietFrames > 0 { monitor.learn(frame.packetSize) }
                return frame
            }
            let packet = try source.readPacket()  // at the end of input, the undecoded tail is dropped
            packetsForLastFrame += 1
            onPacket?()
            passed(isKeyframe: packet.isKeyframe, at: packet.presentationTime)
            if packet.isKeyframe {
                if let frame = try keyframePicture() {
                    lastFrameWasKeyframeCheck = true
                    return frame
                }
                wake()  // the keyframe gave no picture: decoding every frame reports why
            } else if Double(packetsSinceKeyframe) > overdueKeyframePackets {
                wake()  // keyframes stopped coming or spread out: the next check is overdue
            } else if let change = monitor.judge(packet.size), !isHeldOff(change) {
                packetWakeUps += 1
                unprovenWakeUp = change
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
        growthHoldOff.count()
        collapseHoldOff.count()
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
            if let change = unprovenWakeUp {
                unprovenWakeUp = nil
                updateHoldOff(for: change) { $0.proven() }
            }
            if !isDecodingEveryFrame {
                keyframeWakeUps += 1
                wake()
            }
            return
        }
        guard isDecodingEveryFrame, let adaptive else { return }
        if !isCatchingUp { quietFrames += 1 }  // quiet counts from the live edge on
        // Keyframes must come at most `maximumKeyframeInterval` apart, the last two and since the last one.
        if quietFrames >= quietFramesNeeded, monitor.isReady, let keyframeInterval,
           keyframeInterval <= adaptive.maximumKeyframeInterval, Double(packetsSinceKeyframe) <= maximumKeyframePackets
        {
            isDecodingEveryFrame = false
            if let change = unprovenWakeUp {
                unprovenWakeUp = nil
                updateHoldOff(for: change) { $0.fruitless(framesPerSecond: framesPerSecond) }
            }
        }
    }

    private func isHeldOff(_ change: PacketSizeMonitor.Change) -> Bool {
        change == .grew ? growthHoldOff.isActive : collapseHoldOff.isActive
    }

    private func updateHoldOff(for change: PacketSizeMonitor.Change, _ update: (inout PacketWakeUpHoldOff) -> Void) {
        switch change {
        case .grew: update(&growthHoldOff)
        case .collapsed: update(&collapseHoldOff)
        }
    }

    private func wake() {
        isDecodingEveryFrame = true
        catchUpEnd = newestPacketTime
        quietFrames = 0
        framesSkippedBefore = 0  // the skipped packets are decoded now
    }
}

/// How long one kind of packet-size wake-up is ignored after wake-ups of that kind showed nothing:
/// 30 s after the first, doubling with each fruitless one in a row, up to 10 minutes. On a
/// constant-bitrate stream the sizes follow the rate control, not the picture, and the keyframe
/// checks must do.
struct PacketWakeUpHoldOff {
    static let first = 30.0
    static let longest = 600.0
    private var fruitlessInARow = 0
    private var packetsLeft = 0

    var isActive: Bool { packetsLeft > 0 }

    /// One more packet went by.
    mutating func count() {
        if packetsLeft > 0 { packetsLeft -= 1 }
    }

    mutating func fruitless(framesPerSecond: Double) {
        fruitlessInARow += 1
        let seconds = min(Self.first * Double(1 << min(fruitlessInARow - 1, 16)), Self.longest)
        packetsLeft = Int(seconds * framesPerSecond)
    }

    mutating func proven() {
        fruitlessInARow = 0
    }
}
