import Foundation
import Testing
import VigilReporter
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

@Suite("Reporter as a long-running component")
struct ReporterTests {
    @Test("run() delivers until stop() or cancellation, then writes what is already queued to the log and returns")
    func runStopAndCancel() async throws {
        let state = try TestState()
        let queue = try state.queue([.produce, .deliver])
        let configuration = Reporter.Configuration(alertLog: state.alertLog)

        let reporter = try Reporter(queue: queue, configuration: configuration)
        let running = Task { try await reporter.run() }
        let first = TestAlerts.health("a")
        #expect(try await queue.enqueue(first) == .enqueued)
        // The status counts an alert once its batch is written and synced, just after the line appears.
        #expect(await eventually(within: 120) { reporter.status().first?.delivered == 1 })
        #expect(state.logLines().count == 1)
        #expect(reporter.status().map(\.name) == ["log"])
        let second = TestAlerts.started("b")
        #expect(try await queue.enqueue(second) == .enqueued)
        reporter.stop()
        try await running.value

        let restarted = try Reporter(queue: queue, configuration: configuration)
        let task = Task { try await restarted.run() }
        let third = TestAlerts.health("c", .cameraOnline)
        #expect(try await queue.enqueue(third) == .enqueued)
        task.cancel()
        try await task.value

        #expect(try state.logAlerts() == [first, second, third])
        #expect(try await queue.backlog() == ["log": 0])
        queue.close()
    }

    @Test("a reporter needs a queue opened for delivering")
    func needsDeliveryAccess() async throws {
        let state = try TestState()
        let queue = try state.queue(.produce)
        #expect(throws: ReporterError.self) {
            try Reporter(queue: queue, configuration: Reporter.Configuration(alertLog: state.alertLog))
        }
        queue.close()
    }
}
