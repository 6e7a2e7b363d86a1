import Foundation
import Testing
import VigilTestSupport
import VigilTesting

/// /metrics of a real daemon: a sink's lag, and the series of a camera that left the registry.
@Suite("metrics that follow the daemon", .serialized)
struct MetricsTests {
    /// The value of the series `name{labels}` in an exposition, nil when absent.
    static func value(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test("vigil_sink_lag_seconds is the age of the oldest alert a webhook that cannot deliver still holds, 0 for the alert log")
    func sinkLagGrows() async throws {
        let fixture = try HTTPDaemonFixture()
        // Port 9 on 127.0.0.1: nothing listens, every delivery is refused.
        let url = try fixture.file("webhook-url", "http://127.0.0.1:9/hook\n")
        try fixture.start(config: ["reporter:", "  webhook:", "    url_file: \(url)", "    initial_backoff: 0.2",
                                   "    max_backoff: 0.5", "    dead_after: 1000"])
        #expect(fixture.wait(60) { !fixture.daemon.alerts().isEmpty }, "the alert log gets alerts")
        let lag = "vigil_sink_lag_seconds{sink=\"webhook\"}"
        var first = 0.0
        #expect(try fixture.wait(20) {
            first = Self.value(try fixture.get("/metrics").text, lag) ?? 0
            return first > 0
        }, "the webhook's lag is reported")
        #expect(try fixture.wait(20) { (Self.value(try fixture.get("/metrics").text, lag) ?? 0) >= first + 2 }, "and grows")
        let text = try fixture.get("/metrics").text
        #expect(Self.value(text, "vigil_sink_lag_seconds{sink=\"log\"}") == 0, "the alert log delivered everything")
        #expect((Self.value(text, "vigil_queue_backlog{sink=\"webhook\"}") ?? 0) >= 1)
        #expect(await fixture.daemon.terminate()?.status == 0)
    }

    @Test("a camera removed from the registry leaves /metrics after a reload, the others stay")
    func removedCameraSeriesGo() async throws {
        let fixture = try HTTPDaemonFixture()
        try fixture.start()
        let frames = "vigil_camera_frames_total{camera=\"depot-yard\"}"
        #expect(try fixture.wait(60) { (Self.value(try fixture.get("/metrics").text, frames) ?? 0) > 0 })
        try fixture.vigil(["camera", "remove", "depot-yard"])
        fixture.daemon.process.send(SIGHUP)
        var text = ""
        #expect(try fixture.wait(20) {
            text = try fixture.get("/metrics").text
            return !text.contains("camera=\"depot-yard\"")
        }, "series left: \(text.split(separator: "\n").filter { $0.contains("depot-yard") })")
        #expect(text.contains("vigil_camera_frames_total{camera=\"street-1\"}"))
        #expect(text.contains("vigil_camera_packets_total{camera=\"street-1\",decoded=\"true\"}"))
        #expect(try fixture.get("/api/v1/cameras").json()["cameras"].map { ($0 as? [[String: Any]] ?? []).count } == 1)
        #expect(await fixture.daemon.terminate()?.status == 0)
    }
}
