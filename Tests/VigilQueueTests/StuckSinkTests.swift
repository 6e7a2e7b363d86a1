import Foundation
import Testing
import VigilReporter
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// A sink that never answers (a command that hangs) while alerts keep coming, in process.
@Suite("a stuck sink filling the queue")
struct StuckSinkTests {
    @Test("a hung exec sink holds back neither the alert log nor the stop; the queue it fills coalesces motion, keeps health")
    func stuckExecSink() async throws {
        let state = try TestState()
        let queue = try state.queue([.produce, .deliver]) { $0.maxAlerts = 10 }
        // The command hangs far beyond the test (its timeout is longer still) and says who it is.
        let pidFile = state.root.url.appendingPathComponent("exec.pid").path
        var configuration = Reporter.Configuration(alertLog: state.alertLog, exec: ExecConfiguration(
            target: "echo $$ > \(pidFile); exec sleep 300", timeout: 600))
        configuration.drainTimeout = 1
        let reporter = try Reporter(queue: queue, configuration: configuration)
        let running = Task { try await reporter.run() }

        let health = (0..<10).map { TestAlerts.health("cam\($0)", .cameraOnline) }
        for alert in health { #expect(try await queue.enqueue(alert) == .enqueued) }
        // The log gets every alert although the exec sink is stuck on the first.
        #expect(await eventually(within: 20) { state.logLines().count == 10 }, "\(state.logLines().count) lines")
        let counted = try await eventually(within: 5) { try await queue.backlog() == ["log": 0, "exec": 10] }
        let backlog = try await queue.backlog()
        #expect(counted, "\(backlog)")
        #expect(reporter.status().first { $0.name == "exec" }?.delivered == 0)

        // The exec sink's undelivered alerts fill the queue: motion is coalesced, health still goes in
        // and reaches the log.
        #expect(try await queue.enqueue(TestAlerts.started("gate")) == .coalesced)
        let offline = TestAlerts.health("gate", .cameraOffline)
        #expect(try await queue.enqueue(offline) == .enqueued)
        #expect(await eventually(within: 10) { (try? state.logAlerts().last?.id) == offline.id })

        // The stop does not wait for the hung command beyond the drain time.
        let stoppedAt = ContinuousClock.now
        reporter.stop()
        try await running.value
        let stopSeconds = (ContinuousClock.now - stoppedAt) / .seconds(1)
        #expect(stopSeconds < 5, "the stop took \(stopSeconds) s")
        // ...and the hung command does not outlive the reporter.
        let pid = try #require(Int32(String(contentsOfFile: pidFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await eventually(within: 5) { kill(pid, 0) != 0 }, "the hung command \(pid) still runs")
        #expect(try await queue.backlog()["log"] == 0)
        queue.close()
    }
}
