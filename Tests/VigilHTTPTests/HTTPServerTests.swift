import Foundation
import Testing
import VigilTestSupport
import VigilTesting

@Suite("HTTP surface of a real daemon", .serialized)
struct HTTPServerTests {
    @Test("health, readiness, the register in three formats and the page, cameras, alerts and metrics")
    func endpoints() async throws {
        let fixture = try HTTPDaemonFixture()
        try fixture.start()
        #expect(try fixture.get("/healthz").status == 200)
        #expect(try fixture.wait(20) { try fixture.get("/readyz").status == 200 })

        for format in ["json", "csv", "geojson"] {
            let served = try fixture.get("/register.\(format)")
            let exported = try fixture.vigil(["register", "export", "--format", format])
            #expect(served.status == 200)
            #expect(served.body == exported.stdout, "/register.\(format) differs from vigil register export")
            #expect(served.text.contains("street-1") && !served.text.contains("depot-yard"))
        }
        let page = try fixture.get("/register")
        #expect(page.status == 200 && page.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(page.text.contains("Street one") && page.text.contains("<svg") && page.text.contains("<circle"))
        #expect(!page.text.contains("depot-yard") && !page.text.contains("Depot yard"))
        #expect(!page.text.contains("src=\"http") && !page.text.contains("href=\"http"), "the page loads nothing from elsewhere")

        let cameras = try fixture.get("/api/v1/cameras").json()["cameras"] as? [[String: Any]] ?? []
        #expect(cameras.map { $0["id"] as? String } == ["depot-yard", "street-1"])
        #expect(cameras.allSatisfy { $0["state"] is String && $0["state_text"] is String })
        #expect((cameras.first { $0["id"] as? String == "street-1" }?["register"] as? [String: Any])?["municipality"] as? String == "Brussel")
        #expect(cameras.first { $0["id"] as? String == "depot-yard" }?["register"] == nil)
        let one = try fixture.get("/api/v1/cameras/street-1")
        #expect(one.status == 200)
        #expect(try one.json()["id"] as? String == "street-1")
        let missing = try fixture.get("/api/v1/cameras/nowhere")
        #expect(missing.status == 404)
        #expect(try missing.json()["error"] as? String == "no camera with this id in the registry")

        // one_crossing.mp4 has a person crossing: the motion alerts reach the log, then the API.
        #expect(fixture.wait(60) { !fixture.daemon.alerts(kind: "motion_started").isEmpty })
        let logged = fixture.daemon.alerts().compactMap { $0["id"] as? String }
        let all = try fixture.get("/api/v1/alerts?limit=1000").json()["alerts"] as? [[String: Any]] ?? []
        #expect(Array(all.compactMap { $0["id"] as? String }.prefix(logged.count)) == logged)
        let started = try fixture.get("/api/v1/alerts?kind=motion_started&camera=street-1").json()["alerts"] as? [[String: Any]] ?? []
        #expect(!started.isEmpty && started.allSatisfy { $0["kind"] as? String == "motion_started" })
        let after = try fixture.get("/api/v1/alerts?since=\(logged[0])").json()["alerts"] as? [[String: Any]] ?? []
        #expect(after.first?["id"] as? String == (logged.count > 1 ? logged[1] : nil))

        let metrics = try fixture.get("/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("vigil_alerts_total{kind=\"motion_started\"}"))
        #expect(metrics.text.contains("vigil_uptime_seconds"))
        // Counted where it happens (swift-metrics onto swift-prometheus) and made from the board at scrape time.
        #expect(metrics.text.contains("vigil_camera_frames_total{camera=\"street-1\"}"))
        #expect(metrics.text.contains("vigil_decode_seconds_bucket{le="))
        #expect(metrics.text.contains("vigil_detect_seconds_count"))
        #expect(metrics.text.contains("vigil_camera_state{camera=\"street-1\",state=\"streaming\"} 1"))
        #expect(metrics.text.components(separatedBy: "# TYPE vigil_camera_frames_total ").count == 2, "one family per name")
        for line in metrics.text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.hasPrefix("vigil_"), "metric without the vigil_ prefix: \(line)")
            if line.contains("camera=") {
                #expect(line.contains("camera=\"street-1\"") || line.contains("camera=\"depot-yard\""), "\(line)")
            }
        }
        let status = try fixture.get("/")
        #expect(status.status == 200 && status.text.contains("id=\"camera-street-1\"") && status.text.contains("EventSource"))
        #expect(await fixture.daemon.terminate()?.status == 0)
    }

    @Test("the alert stream sends each committed alert once, and resumes after Last-Event-ID without loss or duplicates")
    func alertStream() async throws {
        let fixture = try HTTPDaemonFixture(media: "two_crossings.mp4")
        try fixture.start()
        let stream = try RawConnection(port: fixture.port, timeout: 60)
        stream.send(Array("GET /api/v1/alerts/stream?camera=street-1 HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        // A motion event makes two alerts (started, ended): read until three arrived.
        let received = stream.receive { Self.eventIDs(String(decoding: $0, as: UTF8.self)).count >= 3 }
        let text = String(decoding: received, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200") && text.contains("text/event-stream"))
        let ids = Self.eventIDs(text)
        try #require(ids.count >= 3, "\(received.count) bytes: \(text.debugDescription)")
        #expect(Set(ids).count == ids.count, "an alert was sent twice")
        #expect(fixture.wait(10) {
            Set(fixture.daemon.alerts().filter { $0["camera"] as? String == "street-1" }.compactMap { $0["id"] as? String }).isSuperset(of: ids)
        }, "every streamed alert is in the alert log")

        // Resume after the first: what follows it, in the same order, nothing twice.
        let resumed = try RawConnection(port: fixture.port, timeout: 30)
        resumed.send(Array("GET /api/v1/alerts/stream?camera=street-1 HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \(ids[0])\r\n\r\n".utf8))
        let again = Self.eventIDs(String(decoding: resumed.receive { Self.eventIDs(String(decoding: $0, as: UTF8.self)).count >= ids.count - 1 },
                                         as: UTF8.self))
        #expect(Array(again.prefix(ids.count - 1)) == Array(ids.dropFirst()))
        let bad = try fixture.get("/api/v1/alerts/stream", headers: ["Last-Event-ID: ../../etc"])
        #expect(bad.status == 400)
        #expect(await fixture.daemon.terminate()?.status == 0, "the daemon stops with streams open")
    }

    static func eventIDs(_ text: String) -> [String] {
        // Split on every line break: a chunk's "\r\n" is one Character before the "id:" line.
        text.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
    }
}
