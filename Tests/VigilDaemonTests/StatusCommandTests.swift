import Foundation
import Testing
import VigilPipeline
import VigilTestSupport
import VigilTesting

@Suite("vigil status: what a running daemon does, from status.json")
struct StatusCommandTests {
    @Test("vigil status shows a running daemon's file camera and its sink; --json gives the board; stopped it says not running")
    func againstARunningDaemon() async throws {
        let setup = try DaemonSetup()
        let clip = Fixtures.path("one_crossing.mp4")
        try setup.addCamera("walk", url: clip)
        let daemon = try setup.start()
        let statusPath = setup.state.path + "/status.json"
        #expect(await eventually(within: 30) {
            ((try? String(contentsOfFile: statusPath, encoding: .utf8)) ?? "").contains("\"lastAlert\"")
        }, "\(daemon.log)")
        let attributes = try FileManager.default.attributesOfItem(atPath: statusPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
        let text = try runVigil(["status", "--state-dir", setup.state.path])
        print(text.stdoutText)
        #expect(text.status == 0, "\(text.stderrText)")
        let lines = text.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("vigil running for") == true)
        #expect(lines.contains { $0.hasPrefix("walk") && $0.contains("streaming") && $0.contains("motion_") })
        #expect(lines.contains { $0.hasPrefix("log") })
        #expect(!text.stdoutText.contains("\u{1B}["), "colour on a pipe")
        let json = try runVigil(["status", "--json", "--state-dir", setup.state.path])
        #expect(json.status == 0)
        let snapshot = try StatusFile.decode(Data(json.stdoutText.utf8))
        #expect(snapshot.cameras.map(\.id) == ["walk"] && snapshot.cameras[0].frames > 0)
        #expect(!json.stdoutText.contains(clip), "the status file holds the camera's URL")
        #expect(await daemon.terminate()?.status == 0)
        let stopped = try runVigil(["status", "--state-dir", setup.state.path])
        #expect(stopped.status == 3)
        #expect(stopped.stderrText.hasPrefix("vigil: vigil is not running (stopped"), "\(stopped.stderrText)")
    }

    @Test("no status file, or one not rewritten for over 10 s: vigil is not running, exit 3")
    func notRunning() throws {
        let state = try TemporaryDirectory()
        let missing = try runVigil(["status", "--state-dir", state.path])
        #expect(missing.status == 3 && missing.stderrText.contains("vigil is not running (no status file"))
        let board = CameraStatusBoard(now: { Date().addingTimeInterval(-500) })
        board.retain(cameras: [(id: "walk", name: "Walk")])
        try StatusFile.write(board.snapshot(), to: state.url.appendingPathComponent("status.json"))
        let stale = try runVigil(["status", "--state-dir", state.path])
        #expect(stale.status == 3)
        #expect(stale.stderrText.contains("vigil is not running (status last written 8 min ago)"), "\(stale.stderrText)")
    }
}
