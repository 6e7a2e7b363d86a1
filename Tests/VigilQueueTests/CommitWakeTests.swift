import Foundation
import Testing
import VigilReporter
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

@Suite("sinks woken by the queue's commits, not by a poll", .timeLimit(.minutes(1)))
struct CommitWakeTests {
    /// Far longer than any wait below: a wait that ends early was ended by a commit or a cancellation.
    static let never = Duration.seconds(600)

    @Test("a wait for a commit ends when the queue commits, and at once when it committed since the count was read")
    func waitEndsAtCommit() async throws {
        let state = try TestState()
        let queue = try state.queue(.produce)
        let before = queue.commitCount
        let waiting = Task { await queue.waitForCommit(after: before, timeout: Self.never) }
        try await queue.enqueue(TestAlerts.health("a"))
        let ended = Date()
        await waiting.value
        #expect(Date().timeIntervalSince(ended) < 10)
        #expect(queue.commitCount > before)

        // A commit between reading the count and waiting is not missed.
        let read = queue.commitCount
        try await queue.enqueue(TestAlerts.health("b"))
        let start = Date()
        await queue.waitForCommit(after: read, timeout: Self.never)
        #expect(Date().timeIntervalSince(start) < 10)
        queue.close()
    }

    @Test("a wait for a commit ends at its timeout, and when its task is cancelled")
    func waitEndsAtTimeoutAndCancellation() async throws {
        let state = try TestState()
        // Without a producer nothing commits (a producer's writer also commits its upkeep now and then).
        let queue = try state.queue(.deliver)
        let start = Date()
        await queue.waitForCommit(after: queue.commitCount, timeout: .milliseconds(300))
        #expect(Date().timeIntervalSince(start) >= 0.25)

        let waiting = Task { await queue.waitForCommit(after: queue.commitCount, timeout: Self.never) }
        let cancelled = Date()
        waiting.cancel()
        await waiting.value
        #expect(Date().timeIntervalSince(cancelled) < 10)
        #expect(queue.commitCount == 0, "nothing was committed")
        queue.close()
    }

    @Test("the reporter delivers each alert on the commit while its fallback poll is 600 s")
    func reporterWokenByCommit() async throws {
        let state = try TestState()
        let queue = try state.queue([.produce, .deliver])
        var configuration = Reporter.Configuration(alertLog: state.alertLog)
        configuration.fallbackPoll = 600
        let reporter = try Reporter(queue: queue, configuration: configuration)
        let running = Task { try await reporter.run() }
        var sent: [Alert] = []
        // The first may be found by the reporter's first look; the next ones only by a wake-up.
        for camera in ["a", "b", "c"] {
            let alert = TestAlerts.health(camera)
            sent.append(alert)
            let start = Date()
            #expect(try await queue.enqueue(alert) == .enqueued)
            #expect(await eventually(within: 20) { reporter.status().first?.delivered == sent.count },
                    "alert \(sent.count) not delivered: the sinks were not woken by the commit")
            print("commit wake-up: alert \(sent.count) in the log \(Int(Date().timeIntervalSince(start) * 1000)) ms after its enqueue returned")
        }
        reporter.stop()
        try await running.value
        #expect(try state.logAlerts() == sent)
        queue.close()
    }

    @Test("alerts another queue (another process) commits are delivered by the fallback poll")
    func fallbackPollFindsOtherProducers() async throws {
        let state = try TestState()
        let delivering = try state.queue(.deliver)
        var configuration = Reporter.Configuration(alertLog: state.alertLog)
        configuration.fallbackPoll = 0.2
        let reporter = try Reporter(queue: delivering, configuration: configuration)
        let running = Task { try await reporter.run() }
        let producing = try state.queue(.produce)
        let alert = TestAlerts.health("a")
        #expect(try await producing.enqueue(alert) == .enqueued)
        #expect(delivering.commitCount == 0, "the delivering queue saw no commit of its own")
        #expect(await eventually(within: 20) { (try? state.logAlerts()) == [alert] })
        reporter.stop()
        try await running.value
        producing.close()
        delivering.close()
    }
}
