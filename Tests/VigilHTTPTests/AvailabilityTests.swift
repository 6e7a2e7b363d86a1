import Foundation
import Testing
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// Availability today and over seven days, from a real daemon's status board and its
/// availability.sqlite, across a restart.
@Suite("availability per camera across daemon restarts", .serialized)
struct AvailabilityTests {
    static func availability(_ fixture: HTTPDaemonFixture, _ camera: String) throws -> (today: [String: Any], week: [String: Any]) {
        let object = try fixture.get("/api/v1/cameras/\(camera)").json()
        let availability = try #require(object["availability"] as? [String: Any], "\(object)")
        return (try #require(availability["today"] as? [String: Any]), try #require(availability["seven_days"] as? [String: Any]))
    }

    /// A figure in seconds (sums of doubles: compare with a tolerance of a microsecond).
    static func seconds(_ figures: [String: Any], _ key: String) -> Double { figures[key] as? Double ?? -1 }

    @Test("yesterday's figures and today's so far are kept across a restart, a blind camera is 0% available, old days go")
    func survivesRestart() async throws {
        let fixture = try HTTPDaemonFixture()
        // Port 9 on 127.0.0.1: nothing listens, the camera is refused and never gives a picture.
        try fixture.vigil(["camera", "add", "dark-1", "--url", "rtsp://127.0.0.1:9/none", "--name", "Dark one", "--lat=50.84",
                           "--lon=4.35", "--municipality", "Brussel", "--operator", "Stad Brussel", "--purpose", "public order",
                           "--public"])
        let now = Date()
        let today = UTCDay.format(now), yesterday = UTCDay.format(now.addingTimeInterval(-86_400))
        let old = UTCDay.format(now.addingTimeInterval(-10 * 86_400))
        let state = StateDirectory(option: fixture.state.path)
        try await AvailabilityFile(directory: state).add([
            CameraDayFigures(camera: "street-1", day: yesterday, watchedSeconds: 3_600, blindSeconds: 360),
            CameraDayFigures(camera: "street-1", day: old, watchedSeconds: 500, blindSeconds: 500)])

        try fixture.start()
        #expect(try fixture.wait(60) { try Self.seconds(Self.availability(fixture, "street-1").today, "watched_seconds") >= 4 })
        let (street, streetWeek) = try Self.availability(fixture, "street-1")
        let watched = Self.seconds(street, "watched_seconds"), blind = Self.seconds(street, "blind_seconds")
        #expect(blind >= 0 && blind < watched)
        #expect(abs((street["available"] as? Double ?? -1) - (watched - blind) / watched) < 1e-9)
        #expect(Self.seconds(streetWeek, "watched_seconds") >= 3_600 + watched - 1e-6, "yesterday counts in the seven days")
        #expect(Self.seconds(streetWeek, "blind_seconds") >= 360 + blind - 1e-6)
        #expect(Self.seconds(streetWeek, "watched_seconds") < 3_600 + watched + 60, "the 10-day-old row does not count")
        let (dark, _) = try Self.availability(fixture, "dark-1")
        #expect(Self.seconds(dark, "watched_seconds") > 0 && dark["available"] as? Double == 0, "\(dark)")
        let page = try fixture.get("/")
        #expect(page.text.contains("class=\"availability\"") && page.text.contains("<span class=\"today\">0.0%</span>"), "dark-1's tile")
        #expect(await fixture.daemon.terminate()?.status == 0)

        // The shutdown wrote today's seconds; the old day was pruned at start.
        let stored = try await AvailabilityFile(directory: state).figures(since: "2000-01-01")
        let streetDays = Dictionary(uniqueKeysWithValues: stored.filter { $0.camera == "street-1" }.map { ($0.day, $0) })
        #expect(streetDays[old] == nil)
        #expect(streetDays[yesterday]?.watchedSeconds == 3_600)
        let firstRun = try #require(streetDays[today]?.watchedSeconds, "\(stored)")
        #expect(firstRun >= watched - 1e-6)
        #expect(stored.contains { $0.camera == "dark-1" && $0.day == today && $0.blindSeconds == $0.watchedSeconds })

        // A new daemon starts from what the last one saved.
        try fixture.start()
        #expect(try fixture.wait(20) { try Self.seconds(Self.availability(fixture, "street-1").today, "watched_seconds") > firstRun })
        let (_, week) = try Self.availability(fixture, "street-1")
        #expect(Self.seconds(week, "watched_seconds") > 3_600 + firstRun)
        #expect(await fixture.daemon.terminate()?.status == 0)
    }
}
