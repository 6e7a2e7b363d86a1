/// Settings of adaptive decoding: decode only keyframes while the scene is quiet.
public struct AdaptiveDecoding: Sendable, Equatable {
    /// Seconds without motion (and with no event under way) before decoding drops to keyframes.
    public var quietSeconds: Double
    /// A P-frame packet this many times the learned quiet size wakes full decoding...
    public var packetJumpRatio: Double
    /// ...if it is also at least this many bytes above it (tiny packets jump in ratio on any noise).
    /// Packets collapsing far below the quiet size (a frozen feed) wake it too.
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
/// spends more bits when the picture changes, and next to none when it freezes.
///
/// A packet has grown when it is at least `jumpRatio` times the learned level, `jumpBytes` above
/// it, and a quarter above the largest recent quiet packet (rate control makes sizes swing within
/// a GOP), for `jumpRun` packets in a row (a single noisy packet is not a change).
public struct PacketSizeMonitor: Sendable {
    /// What a packet says about the picture.
    public enum Change: Sendable, Equatable {
        /// Much larger than the quiet level: something moves or the light changes.
        case grew
        /// Far below the quiet level for a while: the picture stands still (a frozen feed).
        case collapsed
    }

    public let jumpRatio: Double
    public let jumpBytes: Int
    /// Packets above the limit in a row that make a change.
    public let jumpRun: Int
    /// Packets learned before changes are trusted.
    public let warmUpPackets: Int
    /// Packets below a third of the quiet level in a row that make a collapse.
    public let collapseRun: Int
    private var level = 0.0
    /// The largest recent quiet packet, decaying by 2% per packet (a half-life of about 2.3 s at 15 fps).
    private var ceiling = 0.0
    private var learned = 0
    private var growing = 0
    private var collapsing = 0

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
        collapsing = value < level / 3 ? collapsing + 1 : 0
        if collapsing >= collapseRun {
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
/// GOP from its keyframe to catch up and then every frame until the scene is quiet again. Replay and the daemon both read through
/// a feed, so they run the same decoding decisions.
public final class FrameFeed {
    public let source: MediaSource
    public let adaptive: AdaptiveDecoding?
    private var monitor: PacketSizeMonitor
    private var decodingEveryFrame = true
    private var quietFrames = 0
    private let quietFramesNeeded: Int
    private var lastKeyframeTime: Double?
    private var keyframeInterval: Double?
    private var inputEnded = false
    private var skippedSinceLastFrame = 0
    /// Presentation time of the newest packet demuxed.
    public private(set) var newestPacketTime: Double?
    /// Times full decoding was woken: by the packet sizes, by the analysis of a keyframe.
    public private(set) var packetWakeUps = 0
    public private(set) var keyframeWakeUps = 0

    public init(source: MediaSource, adaptive: AdaptiveDecoding? = nil) {
        self.source = source
        self.adaptive = adaptive
        monitor = PacketSizeMonitor(jumpRatio: adaptive?.packetJumpRatio ?? 1,
                                    jumpBytes: adaptive?.packetJumpBytes ?? 0)
        quietFramesNeeded = Int(((adaptive?.quietSeconds ?? 0) * (source.info.framesPerSecond ?? 15)).rounded(.up))
    }

    /// Whether every frame is being decoded (always true without adaptive decoding).
    public var isDecodingEveryFrame: Bool { decodingEveryFrame }

    /// Whether the last frame returned was decoded from buffered packets after a wake-up: it is
    /// behind the live stream on purpose.
    public private(set) var isCatchingUp = false

    /// Packets demuxed but not decoded between the previous frame returned and the last one
    /// (0 while decoding every frame): the analysis should expect the gap in time.
    public var framesSkippedBefore: Int { skippedSinceLastFrame }

    /// The next frame to analyse. `wantsEveryFrame` is what the analysis of the previous frame
    /// asks for (motion, an event under way). Throws like `MediaSource.nextFrame()`.
    public func nextFrame(wantsEveryFrame: Bool) throws(MediaError) -> DecodedFrame {
        guard adaptive != nil else { return try source.nextFrame() }
        follow(wantsEveryFrame: wantsEveryFrame)
        skippedSinceLastFrame = 0
        while true {
            if decodingEveryFrame {
                if let frame = try source.decodeBuffered(drain: inputEnded) { return frame }
                isCatchingUp = false
                if inputEnded { throw MediaError(code: .endOfStream, reason: "end of stream") }
            }
            let packet: PacketInfo
            do {
                packet = try source.readPacket()
            } catch where error.code == .endOfStream {
                inputEnded = true
                if decodingEveryFrame { continue }
                throw error  // the undecoded tail of a quiet GOP
            }
            newestPacketTime = packet.presentationTime ?? newestPacketTime
            if packet.isKeyframe { noteKeyframe(at: packet.presentationTime) }
            if decodingEveryFrame {
                if !packet.isKeyframe, quietFrames > 0 { monitor.learn(packet.size) }
            } else if packet.isKeyframe {
                if let frame = try source.decodeBuffered(drain: true) { return frame }
            } else if monitor.judge(packet.size) != nil {
                packetWakeUps += 1
                wake()
            } else {
                skippedSinceLastFrame += 1
            }
        }
    }

    /// Switches between full and keyframe-only decoding after the caller analysed a frame.
    private func follow(wantsEveryFrame: Bool) {
        if wantsEveryFrame {
            quietFrames = 0
            if !decodingEveryFrame {
                keyframeWakeUps += 1
                wake()
            }
            return
        }
        guard decodingEveryFrame, let adaptive else { return }
        quietFrames += 1
        if quietFrames >= quietFramesNeeded, monitor.isReady, let keyframeInterval,
           keyframeInterval <= adaptive.maximumKeyframeInterval
        {
            decodingEveryFrame = false
        }
    }

    private func wake() {
        decodingEveryFrame = true
        isCatchingUp = true
        quietFrames = 0
        skippedSinceLastFrame = 0  // the skipped packets are decoded now
    }

    private func noteKeyframe(at time: Double?) {
        if let time, let lastKeyframeTime, time > lastKeyframeTime { keyframeInterval = time - lastKeyframeTime }
        lastKeyframeTime = time ?? lastKeyframeTime
    }
}
