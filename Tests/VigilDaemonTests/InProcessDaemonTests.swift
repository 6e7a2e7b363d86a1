import Foundation
import Testing
import VigilDaemon
import VigilPipeline
import VigilTestSupport
import VigilTesting

@Suite("Daemon: composed in VigilDaemon and run in-process")
struct InProcessDaemonTests {
    @Test("a daemon built in-process watches a file camera, alerts its motion and stops on request within 5 s")
    func runsAndStops() async throws {
        let setup = try DaemonSetup()
        try setup.addCamera("walk", url: Fixtures.path("one_crossing.mp4"))
        let running = try InProcessDaemon(setup: setup)
        let ended = await eventually(within: 30) { !running.alerts(kind: "motion_ended", camera: "walk").isEmpty }
        #expect(ended, "no motion_ended: \(running.log)")
        let seconds = try await running.stop()
        #expect(seconds < 5, "the graceful shutdown took \(seconds) s")
        let started = Set(running.alerts(kind: "motion_started").compactMap { $0["event"] as? String })
        let closed = Set(running.alerts(kind: "motion_ended").compactMap { $0["event"] as? String })
        #expect(!started.isEmpty && started == closed)
        #expect(running.log.contains { $0.hasPrefix("stopped") })
    }
}

extension InProcessDaemonTests {
    /// The board's entry for `camera`, now.
    static func status(_ running: InProcessDaemon, _ camera: String) -> CameraStatus? {
        running.board.snapshot().cameras.first { $0.id == camera }
    }

    @Test("the status board follows a file camera (streaming, frames, fps, size, last alert, sink backlog) and STATUS= is made from it")
    func boardFollowsCamera() async throws {
        let setup = try DaemonSetup()
        try setup.addCamera("walk", url: Fixtures.path("one_crossing.mp4"))
        try setup.addCamera("off", url: Fixtures.path("dark.mp4"))
        try #require(try runVigil(["camera", "disable", "off", "--state-dir", setup.state.path]).status == 0)
        let notify = try NotifySocket(directory: setup.files)
        let running = try InProcessDaemon(setup: setup, notifier: SystemdNotifier(
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "2000000"]))
        #expect(await eventually(within: 30) { Self.status(running, "walk")?.lastAlert?.kind == "motion_ended" },
                "\(running.log)")
        let walk = try #require(Self.status(running, "walk"))
        print("board after the first crossing: \(walk.frames) frames, \(walk.packets) packets, "
              + "\(walk.framesPerSecond.map { String(format: "%.1f", $0) } ?? "-") fps")
        #expect(walk.connection == .streaming)
        #expect(walk.frames >= 90 && walk.packets >= walk.frames, "\(walk)")
        #expect(walk.framesPerSecond.map { (12...18).contains($0) } == true, "\(walk)")
        #expect(walk.width == 640 && walk.height == 360)
        #expect(walk.lastAlert?.id == running.alerts(kind: "motion_ended", camera: "walk").last?["id"] as? String)
        #expect(Self.status(running, "off")?.connection == .stopped)
        #expect(await eventually(within: 5) { running.board.snapshot().sinks.map(\.name) == ["log"] })
        #expect(await eventually(within: 5) { running.board.snapshot().sinks.first?.backlog == 0 })
        #expect(await notify.waitFor { $0 == "STATUS=1/1 cameras streaming" }, "\(notify.messages)")
        #expect(await notify.waitFor { $0 == "WATCHDOG=1" })
        _ = try await running.stop()
        #expect(Self.status(running, "walk")?.connection == .stopped)
    }

    @Test("a new name reaches the board without a restart; a new stream restarts the worker and the counters go on; disabled it shows stopped (defect 7)")
    func countersSurviveRestarts() async throws {
        let setup = try DaemonSetup()
        try setup.addCamera("walk", url: Fixtures.path("one_crossing.mp4"))
        let running = try InProcessDaemon(setup: setup)
        #expect(await eventually(within: 15) { (Self.status(running, "walk")?.frames ?? 0) >= 30 }, "\(running.log)")
        let renamed = try runVigil(["camera", "update", "walk", "--name", "Grote Markt", "--purpose", "traffic",
                                    "--state-dir", setup.state.path])
        try #require(renamed.status == 0, "\(renamed.stderrText)")
        #expect(await eventually(within: 10) { Self.status(running, "walk")?.name == "Grote Markt" })
        #expect(running.workersStarted("walk") == 1, "\(running.log)")
        let moved = try runVigil(["camera", "update", "walk", "--url", Fixtures.path("dark.mp4"),
                                  "--state-dir", setup.state.path])
        try #require(moved.status == 0, "\(moved.stderrText)")
        #expect(await eventually(within: 10) { running.workersStarted("walk") == 2 }, "\(running.log)")
        let before = Self.status(running, "walk")?.frames ?? 0
        #expect(before >= 30, "the restart reset the counters")
        #expect(await eventually(within: 10) { (Self.status(running, "walk")?.frames ?? 0) > before + 15 })
        try #require(try runVigil(["camera", "disable", "walk", "--state-dir", setup.state.path]).status == 0)
        #expect(await eventually(within: 10) { Self.status(running, "walk")?.connection == .stopped })
        _ = try await running.stop()
    }
}
