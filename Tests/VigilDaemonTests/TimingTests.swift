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

    @Test("a session that fell behind reconnects at once; network failures are the ones worth a probe")
    func fellBehind() {
        var policy = ReconnectPolicy()
        #expect(policy.delay(after: .fellBehind) == .zero)
        #expect(policy.failures == 0)
        #expect([MediaError.Code.connectionRefused, .networkError, .stalled, .endOfStream].allSatisfy { $0.isNetworkFailure })
        #expect(![MediaError.Code.credentialsRejected, .notFound, .invalidData, .fellBehind].contains { $0.isNetworkFailure })
    }
}

@Suite("stream timing")
struct StreamTimingTests {
    @Test("lagging starts when skipping ahead gives up and ends after 30 s within the bound")
    func lagging() {
        var monitor = LagMonitor()
        #expect(monitor.keptUp(at: 10) == nil)
        #expect(monitor.fellBehind(by: 3.2, at: 20) == .started(behindSeconds: 3.2))
        // A slow link: a fresh session keeps up for a while, then falls behind again.
        #expect(monitor.keptUp(at: 30) == nil)
        #expect(monitor.fellBehind(by: 3.5, at: 40) == nil)
        #expect(monitor.keptUp(at: 69) == nil)
        #expect(monitor.keptUp(at: 70) == .ended)
        #expect(!monitor.isLagging)
        #expect(monitor.keptUp(at: 100) == nil)
    }

    @Test("one skip to the live edge (a flap) is no lag; a second within 10 s is")
    func repeatedSkips() {
        var monitor = LagMonitor()
        #expect(monitor.skipped(from: 3.1, at: 10) == nil)
        #expect(monitor.skipped(from: 3.0, at: 23) == nil)  // flaps 13 s apart
        #expect(monitor.skipped(from: 2.2, at: 30) == .started(behindSeconds: 2.2))
        #expect(monitor.skipped(from: 2.3, at: 36) == nil)  // already lagging
        #expect(monitor.keptUp(at: 65) == nil)
        #expect(monitor.keptUp(at: 66) == .ended)
    }

    @Test("a file is paced at real time from its first frame")
    func pacing() {
        var pacer = RealTimePacer()
        #expect(pacer.wait(forMediaTime: 0, now: 100) == 0)
        #expect(abs(pacer.wait(forMediaTime: 1, now: 100.25) - 0.75) < 1e-9)
        #expect(pacer.wait(forMediaTime: 2, now: 103) == 0)
    }

    @Test("a timestamp jump either way never makes the pacer sleep more than a second nor race")
    func pacingAcrossJumps() {
        var pacer = RealTimePacer()
        #expect(pacer.wait(forMediaTime: 0, now: 100) == 0)
        #expect(pacer.wait(forMediaTime: 20_000, now: 100.1) == 0)  // starts afresh at the jump
        #expect(abs(pacer.wait(forMediaTime: 20_000.5, now: 100.2) - 0.4) < 1e-9)
        #expect(pacer.wait(forMediaTime: 3, now: 101) == 0)  // back in time: afresh again
        #expect(abs(pacer.wait(forMediaTime: 3.5, now: 101) - 0.5) < 1e-9)
    }
}
