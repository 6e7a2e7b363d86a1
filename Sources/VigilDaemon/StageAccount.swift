import VigilIngest
import VigilPipeline

/// Where a camera thread's CPU goes, by stage, in thread-CPU seconds (`CLOCK_THREAD_CPUTIME_ID`):
/// demuxing (counted by the source), decoding by the reason the frame was decoded, and the analysis.
///
/// Two clock reads per frame: one when the feed returns a frame, one when its analysis is done;
/// the span between the previous frame's analysis and the next frame is its decoding, less the
/// demuxing the source counted in it. Nothing is allocated. What the thread spends outside these
/// spans (connecting, backoff, snapshots of ended events) is its total less their sum. `make bench`
/// reads the worker's debug line with these figures (`line(threadSeconds:)`).
public struct StageAccount: Sendable, Equatable {
    /// Network reads, RTP depacketizing and the GOP buffer (the source's own count).
    public private(set) var demux = 0.0
    /// Keyframes decoded alone while the scene is quiet (adaptive decoding).
    public private(set) var keyframes = 0.0
    /// Buffered frames decoded after a wake-up, behind the live stream on purpose.
    public private(set) var catchUp = 0.0
    /// Frames decoded at the live edge while the analysis wanted every frame (motion, an event under way).
    public private(set) var busy = 0.0
    /// Frames decoded at the live edge while the scene was quiet: the tail after an event, the
    /// first seconds, or streams adaptive decoding does not thin out.
    public private(set) var quietFull = 0.0
    /// The detector, event tracking and handing alerts over, per frame.
    public private(set) var analysis = 0.0
    /// Video packets demuxed.
    public private(set) var packets = 0

    private var mark = 0.0
    private var sessionDemux = 0.0
    private var sessionPackets = 0

    /// Seconds between two debug lines of a camera worker with these figures.
    public static let logInterval = 5.0

    public init() {}

    /// Starts the clock at the beginning of a session (a new source: its counters start at zero).
    public mutating func sessionStarted() {
        sessionDemux = 0
        sessionPackets = 0
        mark = threadCPUTime()
    }

    /// Takes what `source` demuxed since the last call into `demux` and `packets`; returns the demuxing seconds.
    @discardableResult
    public mutating func takeDemux(_ counters: SourceCounters) -> Double {
        let demuxed = counters.demuxSeconds - sessionDemux
        demux += demuxed
        packets += counters.packetsRead - sessionPackets
        sessionDemux = counters.demuxSeconds
        sessionPackets = counters.packetsRead
        return demuxed
    }

    /// Called when `feed` returned a frame; `wantedEveryFrame` is what the analysis asked of it.
    /// Returns the thread's CPU seconds for reading and decoding it (demuxing included).
    @discardableResult
    public mutating func frameDecoded(by feed: FrameFeed, wantedEveryFrame: Bool) -> Double {
        let now = threadCPUTime()
        let reading = max(0, now - mark)
        let decoding = max(0, reading - takeDemux(feed.source.counters))
        mark = now
        if feed.lastFrameWasKeyframeCheck {
            keyframes += decoding
        } else if feed.isCatchingUp {
            catchUp += decoding
        } else if wantedEveryFrame {
            busy += decoding
        } else {
            quietFull += decoding
        }
        return reading
    }

    /// Called when the frame's analysis (and the reporting of what it found) is done; returns the
    /// thread's CPU seconds for it.
    @discardableResult
    public mutating func frameAnalysed() -> Double {
        let now = threadCPUTime()
        let analysed = now - mark
        analysis += analysed
        mark = now
        return analysed
    }

    /// The figures in milliseconds, with the thread's total CPU (`threadSeconds`) for the rest.
    public func line(threadSeconds: Double) -> String {
        func ms(_ seconds: Double) -> Int { Int((seconds * 1000).rounded()) }
        return "stage cpu ms: demux \(ms(demux)), keyframes \(ms(keyframes)), catch-up \(ms(catchUp)), "
            + "busy \(ms(busy)), quiet full \(ms(quietFull)), analysis \(ms(analysis)), "
            + "thread \(ms(threadSeconds)), packets \(packets)"
    }
}
