import Foundation
import Testing
import VigilIngest
import VigilPipeline

@Suite("reconnect policy")
struct ReconnectPolicyTests {
    @Test("backoff doubles from about 1 s, is capped at 60 s, and resets after a session with frames")
    func backoff() {
        var policy = ReconnectPolicy()
        let delays = (0..<10).map { _ in policy.delay(after: .connectionRefused, random: 0.5) }
        #expect(delays.prefix(7) == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(32),
                                     .seconds(60)])
        #expect(delays.suffix(3).allSatisfy { $0 == .seconds(60) })
        policy.sessionDeliveredFrames()
        #expect(policy.delay(after: .stalled, random: 0.5) == .seconds(1))
    }

    @Test("jitter stays within plus or minus 20 percent")
    func jitter() {
        var low = ReconnectPolicy(), high = ReconnectPolicy()
        #expect(low.delay(after: .endOfStream, random: 0) == .milliseconds(800))
        #expect(high.delay(after: .endOfStream, random: 0.999_999) > .milliseconds(1199))
    }

    @Test("rejected credentials wait 30 minutes and a missing path 5, without growing the backoff")
    func slowRetries() {
        var policy = ReconnectPolicy()
        #expect(policy.delay(after: .credentialsRejected) == .seconds(1800))
        #expect(policy.delay(after: .notFound) == .seconds(300))
        #expect(policy.failures == 0)
    }
}

@Suite("stream timing")
struct StreamTimingTests {
    @Test("a backlog burst after a stall is stale until drained, then resumes once")
    func backlogBurst() {
        var detector = BacklogDetector()
        var verdicts: [BacklogDetector.Verdict] = []
        // 10 s of live frames at 15 fps.
        for frame in 0..<150 { verdicts.append(detector.classify(wall: Double(frame) / 15, media: Double(frame) / 15)) }
        #expect(verdicts.allSatisfy { $0 == .current })
        // A 10 s stall, then 10 s of frames delivered within 0.2 s, then live again.
        verdicts = []
        for frame in 150..<300 {
            verdicts.append(detector.classify(wall: 20 + Double(frame - 150) * 0.2 / 150, media: Double(frame) / 15))
        }
        for frame in 300..<330 { verdicts.append(detector.classify(wall: Double(frame) / 15 + 0.2, media: Double(frame) / 15)) }
        let stale = verdicts.filter { $0 == .stale }.count
        #expect(stale > 100, "burst frames skipped: \(stale)")
        #expect(verdicts.filter { $0 == .resumed }.count == 1)
        #expect(verdicts.suffix(20).allSatisfy { $0 == .current })
    }

    @Test("slow drift between camera and server clocks is never taken for a backlog")
    func drift() {
        var detector = BacklogDetector()
        // The camera's clock runs 0.5% slow for an hour.
        for frame in 0..<54_000 {
            let verdict = detector.classify(wall: Double(frame) / 15 * 1.005, media: Double(frame) / 15)
            if verdict != .current {
                Issue.record("frame \(frame) judged \(verdict)")
                return
            }
        }
    }

    @Test("a file is paced at real time from its first frame")
    func pacing() {
        var pacer = RealTimePacer()
        #expect(pacer.wait(forMediaTime: 0, now: 100) == 0)
        #expect(abs(pacer.wait(forMediaTime: 1, now: 100.25) - 0.75) < 1e-9)
        #expect(pacer.wait(forMediaTime: 2, now: 103) == 0)
    }
}
