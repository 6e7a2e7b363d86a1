import Foundation
import Testing
import VigilPipeline
import VigilTesting

/// The status board on a manual clock: since-times, blind time, counters across restarts, registry changes.
@Suite struct CameraStatusBoardTests {
    @Test func blindTimeCountsOnlyWhileThereIsNoUsablePicture() {
        let time = ManualClock()
        let board = CameraStatusBoard(now: { time.now })
        board.retain(cameras: [(id: "gate", name: "Gate")])
        time.advance(4)  // connecting: blind
        board.setConnection(.streaming, camera: "gate")
        time.advance(10)  // streaming: not blind
        board.setCondition(.covered, true, camera: "gate")
        time.advance(3)  // covered: blind
        board.setCondition(.covered, false, camera: "gate")
        board.setCondition(.lagging, true, camera: "gate", behindSeconds: 3.5)
        time.advance(5)  // lagging pictures are still usable
        let gate = board.snapshot().cameras[0]
        #expect(gate.blindSeconds == 7)
        #expect(gate.connection == .streaming)
        #expect(gate.since == Date(timeIntervalSince1970: 1_800_000_004))
        #expect(gate.conditions.keys.sorted { $0.rawValue < $1.rawValue } == [.lagging])
        #expect(gate.behindSeconds == 3.5)
    }

    @Test func blindTimeRunsUpToEachSnapshotWithoutCountingTwice() {
        let time = ManualClock()
        let board = CameraStatusBoard(now: { time.now })
        board.retain(cameras: [(id: "a", name: "A")])
        time.advance(2)
        #expect(board.snapshot().cameras[0].blindSeconds == 2)
        time.advance(3)
        #expect(board.snapshot().cameras[0].blindSeconds == 5)
    }

    @Test func countersSurviveReconnectsAndCountTheirReasons() {
        let time = ManualClock()
        let board = CameraStatusBoard(now: { time.now })
        board.retain(cameras: [(id: "a", name: "A")])
        board.setConnection(.streaming, camera: "a")
        board.count(camera: "a", frames: 30, packets: 40, packetsDecoded: 30, framesPerSecond: 15, width: 1920, height: 1080)
        board.setConnection(.backoff, camera: "a", reason: "timeout")
        board.setConnection(.streaming, camera: "a")
        board.setConnection(.backoff, camera: "a", reason: "timeout")
        board.setConnection(.backoff, camera: "a", reason: "refused")  // no change of state: not a reconnection
        board.count(camera: "a", frames: 5)
        let a = board.snapshot().cameras[0]
        #expect(a.frames == 35)
        #expect(a.packets == 40 && a.packetsDecoded == 30)
        #expect(a.reconnects == ["timeout": 2])
        #expect(a.width == 1920 && a.framesPerSecond == 15)
    }

    @Test func camerasFollowTheRegistryAndUnknownOnesAreIgnored() {
        let board = CameraStatusBoard()
        board.retain(cameras: [(id: "b", name: "B"), (id: "a", name: "A")])
        board.count(camera: "a", frames: 3)
        board.count(camera: "ghost", frames: 3)
        board.retain(cameras: [(id: "a", name: "A renamed"), (id: "c", name: "C")])
        let snapshot = board.snapshot()
        #expect(snapshot.cameras.map(\.id) == ["a", "c"])
        #expect(snapshot.cameras[0].name == "A renamed" && snapshot.cameras[0].frames == 3)
    }

    @Test func lastAlertAndDeliveryFiguresAreKept() {
        let board = CameraStatusBoard()
        board.retain(cameras: [(id: "a", name: "A")])
        let alert = AlertSummary(id: "01J", kind: "motion_started", time: Date(timeIntervalSince1970: 5))
        board.alertRaised(camera: "a", alert: alert)
        board.setDelivery(sinks: [SinkFigures(name: "webhook", backlog: 4, lagSeconds: 2), SinkFigures(name: "alert-log", backlog: 0)],
                          queueProblem: nil)
        let snapshot = board.snapshot()
        #expect(snapshot.cameras[0].lastAlert == alert)
        #expect(snapshot.sinks.map(\.name) == ["alert-log", "webhook"])
        #expect(snapshot.sinks[1].backlog == 4)
    }
}
