import Foundation
import Testing
import VigilPipeline
import VigilStore
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

    @Test("availability counts watched and blind seconds per UTC day, split at midnight; a stopped camera is not watched")
    func availabilityPerUTCDay() {
        let midnight = Date(timeIntervalSince1970: 20_834 * 86_400)  // 2027-01-16 00:00 UTC
        let time = ManualClock(start: midnight.addingTimeInterval(-100))
        let board = CameraStatusBoard(now: time.read)
        board.retain(cameras: [(id: "gate", name: "Gate"), (id: "off", name: "Off")])
        board.setConnection(.stopped, camera: "off")
        time.advance(20)  // connecting: blind
        board.setConnection(.streaming, camera: "gate")
        board.count(camera: "gate", frames: 15)  // no change of mode: nothing counted here
        time.advance(60)  // usable
        board.setCondition(.covered, true, camera: "gate")
        time.advance(50)  // covered across midnight: 20 s blind on the 15th, 30 s on the 16th
        board.setCondition(.covered, false, camera: "gate")
        time.advance(70)
        let written = board.takeUnwrittenAvailability()
        #expect(written == [CameraDayFigures(camera: "gate", day: "2027-01-15", watchedSeconds: 100, blindSeconds: 40),
                            CameraDayFigures(camera: "gate", day: "2027-01-16", watchedSeconds: 100, blindSeconds: 30)])
        let gate = board.availability()["gate"]
        #expect(gate?.today == Availability(watchedSeconds: 100, blindSeconds: 30))
        #expect(gate?.today.available == 0.7)
        #expect(gate?.sevenDays == Availability(watchedSeconds: 200, blindSeconds: 70))
        #expect(board.availability()["off"] == nil, "a camera never watched has no figures")

        // A failed write gives its figures back; they come again with the next ones, once.
        board.returnUnwrittenAvailability(written)
        time.advance(10)
        let again = board.takeUnwrittenAvailability()
        #expect(again == [written[0], CameraDayFigures(camera: "gate", day: "2027-01-16", watchedSeconds: 110, blindSeconds: 30)])
        #expect(board.takeUnwrittenAvailability().isEmpty)
    }

    @Test("the days of earlier runs are added to what this run counts; days older than a week are not shown")
    func availabilityOfEarlierRuns() {
        let time = ManualClock(start: Date(timeIntervalSince1970: 20_834 * 86_400 + 3_600))  // 2027-01-16 01:00 UTC
        let board = CameraStatusBoard(now: time.read)
        board.loadAvailability([CameraDayFigures(camera: "gate", day: "2027-01-15", watchedSeconds: 80_000, blindSeconds: 800),
                                CameraDayFigures(camera: "gate", day: "2027-01-09", watchedSeconds: 1_000, blindSeconds: 1_000),
                                CameraDayFigures(camera: "gate", day: "2027-01-16", watchedSeconds: 3_000, blindSeconds: 0)])
        board.retain(cameras: [(id: "gate", name: "Gate")])
        board.setConnection(.streaming, camera: "gate")
        time.advance(600)
        let gate = board.availability()["gate"]
        #expect(gate?.today == Availability(watchedSeconds: 3_600, blindSeconds: 0))
        #expect(gate?.sevenDays == Availability(watchedSeconds: 83_600, blindSeconds: 800), "2027-01-09 is eight days ago")
        #expect(board.takeUnwrittenAvailability() == [CameraDayFigures(camera: "gate", day: "2027-01-16", watchedSeconds: 600,
                                                                      blindSeconds: 0)], "loaded days are not written again")
    }
}
