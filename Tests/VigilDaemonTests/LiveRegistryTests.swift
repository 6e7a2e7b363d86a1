import Foundation
import Testing
import VigilTestSupport
import VigilTesting

/// The registry and the alert log changed under a running `vigil run`, as an operator does it: with
/// the CLI, `mv` (logrotate) and SIGHUP.
@Suite("vigil run: registry changes and SIGHUP while it runs")
struct LiveRegistryTests {
    static func watching(_ daemon: DaemonProcess, _ camera: String) -> Bool {
        daemon.log.contains("camera=\(camera) watching camera")
    }

    @Test("a camera added while the daemon runs is watched at the next registry poll; removed, it stops with its event closed")
    func addAndRemove() async throws {
        let setup = try DaemonSetup()
        try setup.addCamera("quiet", url: Fixtures.path("static_noise.mp4"))
        let daemon = try setup.start()
        #expect(await eventually(within: 15) { Self.watching(daemon, "quiet") }, "\(daemon.log)")
        try setup.addCamera("walker", url: Fixtures.path("one_crossing.mp4"))
        // registry_poll is 1 s.
        let addedAt = Date()
        #expect(await eventually(within: 5) { Self.watching(daemon, "walker") }, "\(daemon.log)")
        print("camera added: watched \(String(format: "%.1f", Date().timeIntervalSince(addedAt))) s later")
        #expect(await eventually(within: 20) { !daemon.alerts(kind: "motion_started", camera: "walker").isEmpty },
                "\(daemon.log)")

        let removed = try runVigil(["camera", "remove", "walker", "--state-dir", setup.state.path])
        try #require(removed.status == 0, "\(removed.stderrText)")
        #expect(await eventually(within: 8) { daemon.log.contains("camera=walker stopped watching camera") },
                "\(daemon.log)")
        // Every event it started is ended (on the stop at the latest); the other camera went on.
        let started = daemon.alerts(kind: "motion_started", camera: "walker").compactMap { $0["event"] as? String }
        let ended = daemon.alerts(kind: "motion_ended", camera: "walker").compactMap { $0["event"] as? String }
        #expect(Set(started) == Set(ended), "\(daemon.alerts(camera: "walker"))")
        #expect(!daemon.log.contains("camera=quiet stopped watching camera"))
        #expect(daemon.isRunning)
        #expect(await daemon.terminate()?.status == 0)
    }

    @Test("SIGHUP re-reads the registry at once and reopens the alert log that logrotate moved away")
    func hangup() async throws {
        // A registry poll of an hour: only the SIGHUP can make the daemon see the new camera.
        let setup = try DaemonSetup(daemon: ["registry_poll": 3600])
        try setup.addCamera("quiet", url: Fixtures.path("static_noise.mp4"))
        let daemon = try setup.start()
        #expect(await eventually(within: 15) { Self.watching(daemon, "quiet") }, "\(daemon.log)")
        try setup.addCamera("walker", url: Fixtures.path("one_crossing.mp4"))
        let rotated = daemon.alertLogPath + ".1"
        #expect(await eventually(within: 10) { FileManager.default.fileExists(atPath: daemon.alertLogPath) })
        try FileManager.default.moveItem(atPath: daemon.alertLogPath, toPath: rotated)
        #expect(!Self.watching(daemon, "walker"), "the new camera was watched before the SIGHUP")

        daemon.process.send(SIGHUP)
        #expect(await eventually(within: 5) { Self.watching(daemon, "walker") }, "\(daemon.log)")
        #expect(await eventually(within: 5) { daemon.log.contains("reopened the alert log") }, "\(daemon.log)")
        // The walker's alerts go to a new file at the configured path, none to the moved one.
        #expect(await eventually(within: 20) { !daemon.alerts(kind: "motion_started", camera: "walker").isEmpty },
                "\(daemon.log)")
        let moved = try String(contentsOfFile: rotated, encoding: .utf8)
        #expect(!moved.contains("\"walker\""), "an alert went to the rotated file")
        #expect(daemon.isRunning)
        #expect(await daemon.terminate()?.status == 0)
    }
}
