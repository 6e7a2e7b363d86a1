import Foundation
import InMemoryLogging
import Logging
import Testing
import VigilDaemon
import VigilDetector
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

@Suite("motion floods and storms in the daemon's alert path")
struct MotionFloodTests {
    /// A bridge over a real queue in a temporary state directory, with a clock the test moves.
    final class Bench {
        let directory: TemporaryDirectory
        let queue: AlertQueue
        let logs = InMemoryLogHandler()
        let clock = ManualClock()
        let bridge: AlertBridge
        var now: Date { clock.now }

        init(limit: Int) throws {
            directory = try TemporaryDirectory()
            queue = try AlertQueue(directory: StateDirectory(option: directory.path), access: [.produce, .deliver])
            let logs = self.logs
            bridge = AlertBridge(queue: queue, motionEventsPerMinute: { limit }, clock: clock.read,
                                 logger: Logger(label: "vigil") { _ in logs })
        }

        func advance(_ seconds: Double) {
            clock.advance(seconds)
        }

        /// One whole motion event of `camera` (started now, ended a second later).
        func event(_ camera: Camera) {
            let motion = MotionEvent(start: 0, confirmedAt: 0.2, end: 1, peakArea: 0.5, peakTime: 0.5, frames: 10,
                                     box: PixelBox(x: 0, y: 0, width: 10, height: 10), zones: ZoneSet(rawValue: 0))
            bridge.publish(camera: camera, event: .motionStarted(motion, zones: []))
            advance(1)
            bridge.publish(camera: camera, event: .motionEnded(motion, zones: [], cut: nil, snapshot: nil))
        }

        func alerts() async throws -> [Alert] {
            try await queue.alerts(after: 0, limit: 1000).map { try Alert(jsonLine: $0.line) }
        }

        func logLines(containing text: String) -> [String] {
            logs.entries.map { "\($0.message)" }.filter { $0.contains(text) }
        }
    }

    static func camera(_ id: String, in municipality: String = "Gent") -> Camera {
        Camera(id: id, name: id, streamURL: "rtsp://127.0.0.1:9/x", latitude: 51.05, longitude: 3.72,
               municipality: municipality, operatorName: "Stad", purpose: "test", isPublic: true)
    }

    @Test("beyond the per-minute limit a camera's motion events become one motion_flood alert per window, with count and span")
    func floodSummary() async throws {
        let bench = try Bench(limit: 3)
        let flooding = Self.camera("rain-cam"), calm = Self.camera("calm-cam", in: "Brugge")
        let start = bench.now
        for _ in 0..<10 {
            bench.event(flooding)
            bench.advance(2)
        }
        bench.event(calm)
        await bench.bridge.closeFloods()
        var alerts = try await bench.alerts()
        #expect(alerts.filter { $0.camera == "rain-cam" }.map(\.kind) == [.motionStarted, .motionEnded, .motionStarted, .motionEnded,
                                                                         .motionStarted, .motionEnded])
        #expect(alerts.filter { $0.camera == "calm-cam" }.map(\.kind) == [.motionStarted, .motionEnded], "another camera is not limited")
        #expect(bench.logLines(containing: "motion flood: more than 3 motion events in a minute").count == 1)

        // The window's minute ends: one summary for the seven events held back (started at 9 s ... 27 s).
        bench.advance(60)
        await bench.bridge.closeFloods()
        await bench.bridge.closeFloods()
        alerts = try await bench.alerts()
        let floods = alerts.filter { $0.kind == .motionFlood }
        #expect(floods.count == 1)
        let flood = try #require(floods.first)
        #expect(flood.camera == "rain-cam" && flood.count == 7)
        #expect(flood.time == start.addingTimeInterval(9))
        #expect(flood.message == "7 motion events between \(AlertTime.format(start.addingTimeInterval(9))) and "
                + "\(AlertTime.format(start.addingTimeInterval(28))) not alerted one by one: more than 3 a minute (daemon.motion_events_per_minute)")
        #expect(bench.logLines(containing: "motion flood over: 7 motion events").count == 1)
        let log = bench.directory.path + "/alerts.jsonl"
        try Data(alerts.map { $0.jsonLine() + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: log))
        let tailed = try runVigil(["alerts", "tail", "--kind", "motion_flood", "--json", "--alert-log", log])
        #expect(tailed.status == 0 && tailed.stdoutText == flood.jsonLine() + "\n", "\(tailed.stderrText)")

        // After the window, events are alerted again up to the limit; a flood under way at shutdown is summed up too.
        for _ in 0..<5 { bench.event(flooding) }
        await bench.bridge.closeFloods(all: true)
        alerts = try await bench.alerts()
        #expect(alerts.suffix(7).map(\.kind) == [.motionStarted, .motionEnded, .motionStarted, .motionEnded,
                                                 .motionStarted, .motionEnded, .motionFlood])
        #expect(alerts.last?.count == 2)
        bench.queue.close()
    }

    @Test("many cameras of one municipality starting motion together are logged once as a storm")
    func storm() async throws {
        let bench = try Bench(limit: 100)
        for index in 0..<3 { bench.event(Self.camera("gent-\(index)")) }
        bench.event(Self.camera("brugge-1", in: "Brugge"))
        #expect(bench.logLines(containing: "motion storm").isEmpty, "3 cameras of Gent and 1 of Brugge are no storm")
        for index in 3..<8 { bench.event(Self.camera("gent-\(index)")) }
        for index in 0..<8 { bench.event(Self.camera("gent-\(index)")) }
        let lines = bench.logLines(containing: "motion storm")
        #expect(lines == ["motion storm: 4 cameras of Gent started motion within 5 s (rain, snow, lightning or a power flicker?)"])
        // Every event is still alerted: a storm is only said, not held back.
        #expect(try await bench.alerts().filter { $0.kind == .motionStarted }.count == 17)
        bench.advance(120)
        for index in 0..<4 { bench.event(Self.camera("gent-\(index)")) }
        #expect(bench.logLines(containing: "motion storm").count == 2, "a new storm after a quiet spell is said again")
        bench.queue.close()
    }
}
