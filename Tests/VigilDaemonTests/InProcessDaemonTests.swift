import Foundation
import Testing
import VigilDaemon
import VigilPipeline
import VigilTestSupport

@Suite("Daemon: composed in VigilDaemon and run in-process")
struct InProcessDaemonTests {
    @Test("a daemon built in-process watches a file camera, alerts its motion and stops on request within 5 s")
    func runsAndStops() async throws {
        let setup = try DaemonSetup()
        try setup.addCamera("walk", url: Fixtures.path("one_crossing.mp4"))
        let running = try InProcessDaemon(setup: setup)
        let ended = await waitUntil(timeout: 30) { !running.alerts(kind: "motion_ended", camera: "walk").isEmpty }
        #expect(ended, "no motion_ended: \(running.log)")
        let seconds = try await running.stop()
        #expect(seconds < 5, "the graceful shutdown took \(seconds) s")
        let started = Set(running.alerts(kind: "motion_started").compactMap { $0["event"] as? String })
        let closed = Set(running.alerts(kind: "motion_ended").compactMap { $0["event"] as? String })
        #expect(!started.isEmpty && started == closed)
        #expect(running.log.contains { $0.hasPrefix("stopped") })
    }
}
