import Testing
import VigilDaemon
import VigilDetector
import VigilIngest
import VigilPipeline
import VigilTestSupport

@Suite("StageAccount: a camera thread's CPU by stage")
struct StageAccountTests {
    /// Reads `clip` as a camera worker does (adaptive decoding after 1 s of quiet), keeping the account.
    func account(of clip: String) throws -> (account: StageAccount, thread: Double, counters: SourceCounters) {
        let source = try MediaSource(url: Fixtures.path(clip), options: SourceOptions(skipLoopFilter: true))
        let feed = FrameFeed(source: source, adaptive: AdaptiveDecoding(quietSeconds: 1))
        let analyzer = CameraAnalyzer(settings: CameraDetectionSettings(), nominalFrameRate: source.info.framesPerSecond)
        var account = StageAccount()
        let start = threadCPUTime()
        account.sessionStarted()
        while true {
            let wantsEveryFrame = analyzer.wantsEveryFrame
            guard let frame = try? feed.nextFrame(wantsEveryFrame: wantsEveryFrame) else { break }
            account.frameDecoded(by: feed, wantedEveryFrame: wantsEveryFrame)
            _ = analyzer.process(frame, framesSkipped: feed.framesSkippedBefore)
            account.frameAnalysed()
        }
        account.takeDemux(source.counters)
        return (account, threadCPUTime() - start, source.counters)
    }

    func stagesSum(_ account: StageAccount) -> Double {
        account.demux + account.keyframes + account.catchUp + account.busy + account.quietFull + account.analysis
    }

    @Test("a quiet street: demuxing, keyframes alone once quiet, full decoding before; no busy decoding; within the thread's CPU")
    func quietStreet() throws {
        let (account, thread, counters) = try account(of: "quiet_street.mp4")
        #expect(account.packets == counters.packetsRead)
        #expect(account.demux > 0 && abs(account.demux - counters.demuxSeconds) < 1e-6)
        #expect(account.keyframes > 0, "\(account)")
        #expect(account.quietFull > 0, "\(account)")
        #expect(account.busy == 0 && account.catchUp == 0, "\(account)")
        #expect(account.analysis > 0)
        #expect(stagesSum(account) <= thread, "stages \(stagesSum(account)) s, thread \(thread) s")
        let line = account.line(threadSeconds: thread)
        #expect(line.hasPrefix("stage cpu ms: demux ") && line.hasSuffix("packets \(counters.packetsRead)"), "\(line)")
    }

    @Test("a crossing after quiet: caught up from the keyframe, then busy decoding while the event lasts")
    func crossing() throws {
        let (account, thread, _) = try account(of: "one_crossing.mp4")
        #expect(account.busy > 0, "\(account)")
        #expect(stagesSum(account) <= thread, "stages \(stagesSum(account)) s, thread \(thread) s")
    }
}
