import Foundation
import Testing
import VigilTestSupport
import VigilTesting

@Suite("SIGHUP with an out-of-range config")
struct ReloadRangeTests {
    @Test("the daemon keeps its config, names the key, and its camera keeps working (no trap on reconnect)")
    func outOfRangeReloadKeepsConfig() async throws {
        let setup = try DaemonSetup(adaptiveDecoding: true)
        try setup.addCamera("file-cam", url: Fixtures.path("one_crossing.mp4"))
        let daemon = try setup.start()
        #expect(await eventually(within: 30) { !daemon.alerts(kind: "motion_started", camera: "file-cam").isEmpty },
                "\(daemon.log)")

        let good = try String(contentsOfFile: setup.config, encoding: .utf8)
        try (good + "  adaptive_quiet_seconds: 1e300\n").write(toFile: setup.config, atomically: true, encoding: .utf8)
        kill(daemon.processIdentifier, SIGHUP)
        let problem = "keeping the previous config: config \(setup.config): daemon.adaptive_quiet_seconds must be "
            + "0...86400 seconds (got 1e+300)"
        #expect(await eventually(within: 10) { daemon.log.contains(problem) }, "\(daemon.log)")

        // The file ends, the camera reopens it with the kept settings and finds the crossing again.
        let seen = daemon.alerts(kind: "motion_started", camera: "file-cam").count
        #expect(await eventually(within: 40) { daemon.alerts(kind: "motion_started", camera: "file-cam").count > seen },
                "\(daemon.log)")
        #expect(daemon.isRunning)
        #expect(await daemon.terminate()?.status == 0)
    }
}
