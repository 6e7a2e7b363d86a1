import Foundation
import Testing
import VigilDetector
import VigilSQLite
import VigilStore

@Suite("alerts: ids, times and JSON")
struct AlertTests {
    @Test("ids are 26 Crockford characters, unique and increasing even within one millisecond")
    func idsIncrease() {
        let now = Date()
        let ids = (0..<5000).map { _ in AlertID.make(at: now) }
        #expect(ids.allSatisfy(AlertID.isValid))
        #expect(Set(ids).count == ids.count)
        #expect(ids == ids.sorted())
        let later = AlertID.make(at: now.addingTimeInterval(1))
        #expect(later > ids.last!)
    }

    @Test("times are UTC ISO-8601 with milliseconds and survive a round trip")
    func timeFormat() async throws {
        let date = Date(timeIntervalSince1970: 1_794_995_200.1239)
        let text = AlertTime.format(AlertTime.truncated(date))
        #expect(text == "2026-11-18T09:46:40.123Z")
        let parsed = try #require(AlertTime.parse(text))
        #expect(parsed == AlertTime.truncated(date))
        #expect(AlertTime.parse("2026-11-18T09:46:40Z") == Date(timeIntervalSince1970: 1_794_995_200))
        #expect(AlertTime.parse("2026-11-18 09:46:40.123Z") == nil)
        #expect(AlertTime.parse("2026-13-18T09:46:40.123Z") == nil)
    }

    @Test("a motion alert encodes exactly the documented snake_case fields")
    func motionJSON() async throws {
        let alert = Alert(kind: .motionEnded, camera: "grote-markt-1", event: "01JDQ3V5K8M2X7R4T9B6C1N0PZ",
                          zones: ["entrance", "street"], peakArea: 0.0125,
                          box: PixelBox(x: 120, y: 80, width: 64, height: 128), snapshot: "/var/lib/vigil/snap.jpg",
                          interrupted: true, message: "closed", count: 3)
        let object = try #require(JSONSerialization.jsonObject(with: Data(alert.jsonLine().utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["id", "kind", "camera", "time", "event", "zones", "peak_area", "box", "snapshot",
                                     "interrupted", "message", "count"])
        #expect(object["box"] as? [Int] == [120, 80, 64, 128])
        #expect(object["kind"] as? String == "motion_ended")
        #expect(!alert.jsonLine().contains("\n"))
        #expect(try Alert(jsonLine: alert.jsonLine()) == alert)
    }

    @Test("a health alert leaves out motion fields, interrupted and a count of one")
    func healthJSON() async throws {
        let alert = Alert(kind: .cameraOffline, camera: "station-2", message: "no frame for 15 s")
        let object = try #require(JSONSerialization.jsonObject(with: Data(alert.jsonLine().utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["id", "kind", "camera", "time", "message"])
        #expect(alert.problem == nil)
    }

    @Test("malformed alerts are named")
    func problems() {
        #expect(Alert(kind: .motionStarted, camera: "a").problem == "a motion_started alert needs an event id")
        #expect(Alert(kind: .cameraDark, camera: "").problem == "an alert needs a camera id")
        #expect(Alert(kind: .cameraDark, camera: "a", interrupted: true).problem == "only motion_ended can be interrupted")
    }
}
