import Foundation
import Testing
import VigilTestSupport
import VigilTesting

/// `two_crossings.mp4` looped by the RTSP server: 15 fps, 640x360, 12 s; a 40 px wide figure walks
/// across in frames 24-65 (left to right) and 114-155 (right to left), at constant speed.
enum TwoCrossings {
    static let fps = 15.0
    static let width = 640.0
    static let figureWidth = 40.0
    static let crossings: [(first: Int, last: Int, leftToRight: Bool)] = [(24, 65, true), (114, 155, false)]
    /// Average bitrate of the file, in bytes per second.
    static let bytesPerSecond = 125_584 / 8

    /// When the picture that confirmed a `motion_started` was sent by the server (seconds since 1970),
    /// read from where the figure's leading edge is in the alert's box (the union of the boxes so far):
    /// the latest crossing position consistent with the box that is not after the alert. Nil when the
    /// box fits no crossing.
    static func pictureTime(of alert: [String: Any], loops: [Double]) -> Double? {
        guard let box = alert["box"] as? [Int], box.count == 4, let time = alertTime(alert) else { return nil }
        let speedPerFrame = { (crossing: (first: Int, last: Int, leftToRight: Bool)) in
            (width + figureWidth) / Double(crossing.last - crossing.first + 1)
        }
        var best: Double?
        for loop in loops {
            for crossing in crossings {
                let travelled = crossing.leftToRight ? Double(box[0] + box[2]) : width - Double(box[0])
                let frame = Double(crossing.first) - 0.5 + travelled / speedPerFrame(crossing)
                guard frame >= Double(crossing.first) - 2, frame <= Double(crossing.last) + 2 else { continue }
                let sent = loop + frame / fps
                if sent <= time + 0.3, sent > best ?? -.infinity { best = sent }
            }
        }
        return best
    }

    /// The alert's `time`, in seconds since 1970.
    static func alertTime(_ alert: [String: Any]) -> Double? {
        guard let text = alert["time"] as? String else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)?.timeIntervalSince1970
    }

    /// How old each `motion_started` picture was when its alert was raised, in seconds.
    static func ages(of alerts: [[String: Any]], loops: [Double]) -> [Double] {
        alerts.compactMap { alert in
            pictureTime(of: alert, loops: loops).flatMap { sent in alertTime(alert).map { $0 - sent } }
        }
    }
}

@Suite("bad links: the daemon keeps to the live edge, one event per crossing, back within seconds")
struct BadLinkTests {
    /// The picture-age bound the tests configure (`max_lag`), and the slack for the alert's own path
    /// (network, decoding, the queue's commit) on a loaded machine.
    static let bound = 2.0
    static let slack = 0.6

    @Test("a link at 75% of the stream's bitrate: camera_lagging within 10 s and in STATUS, no motion_started from an old picture")
    func slowLink() async throws {
        let server = try RTSPTestServer(media: ["street": "two_crossings.mp4"], announceLoops: true)
        let proxy = try TCPFaultProxy(target: server.port)
        // The default read deadline: at 75% of the rate a keyframe alone takes 2 s to arrive. A bound
        // of 1.5 s (2 s by default) leaves margin: the lag grows by 0.25 s a second.
        let bound = 1.5
        let setup = try DaemonSetup(daemon: ["max_lag": bound, "read_timeout": 5, "offline_after": 15])
        try setup.addCamera("slow", url: server.url("street", port: proxy.port))
        let notify = try NotifySocket(directory: setup.files)
        let daemon = try setup.start(environment: ["NOTIFY_SOCKET": notify.path])
        #expect(await eventually(within: 15) { daemon.log.contains("camera=slow connected") })
        try await Task.sleep(for: .seconds(1))
        try proxy.limitRate(bytesPerSecond: TwoCrossings.bytesPerSecond * 3 / 4)
        let limitedAt = Date()
        let lagging = await eventually(within: 10) { !daemon.alerts(kind: "camera_lagging").isEmpty }
        print("75% link: camera_lagging \(String(format: "%.1f s", Date().timeIntervalSince(limitedAt))) after the limit")
        #expect(lagging, "no camera_lagging within 10 s: \(daemon.log)")
        #expect(await notify.waitFor(timeout: 8) { $0.contains("1 lagging (up to ") }, "\(notify.messages)")
        // Watch the slow link until 16 s after the limit (a crossing every 6 s).
        try await Task.sleep(for: .seconds(max(0, 16 - Date().timeIntervalSince(limitedAt))))
        #expect(await daemon.terminate()?.status == 0)

        let alert = try #require(daemon.alerts(kind: "camera_lagging").first)
        let behind = try #require(alert["behind_seconds"] as? Double)
        #expect(behind > bound, "\(alert)")
        #expect((alert["message"] as? String)?.contains("--detect-url") == true, "\(alert)")
        #expect(daemon.log.contains("camera lagging"))
        let started = daemon.alerts(kind: "motion_started")
        let ages = TwoCrossings.ages(of: started, loops: server.loopStarts())
        print("75% link: motion_started picture ages \(ages.map { String(format: "%.1f", $0) }) s")
        #expect(ages.count == started.count, "a motion_started whose box fits no crossing: \(started)")
        #expect(ages.allSatisfy { $0 <= bound + Self.slack }, "\(ages)")
    }

    @Test("a 3 s link flap mid-crossing: no alert from old frames, the event ends marked, the next crossing has its own")
    func flap() async throws {
        let server = try RTSPTestServer(media: ["street": "two_crossings.mp4"], announceLoops: true)
        let proxy = try TCPFaultProxy(target: server.port)
        // A read deadline longer than the flap: FFmpeg keeps its session and gets the backlog at once.
        let setup = try DaemonSetup(daemon: ["max_lag": Self.bound, "read_timeout": 5, "offline_after": 10])
        try setup.addCamera("flap", url: server.url("street", port: proxy.port))
        let daemon = try setup.start()
        #expect(await eventually(within: 15) { daemon.log.contains("camera=flap connected") })
        // A loop that starts at least 2 s after the connection (the background is learned), cut from
        // 3.0 s (mid first crossing) to 6.0 s, before the second crossing at 7.6 s.
        let connectedAt = Date().timeIntervalSince1970
        var loop: Double?
        await eventually(within: 30) {
            loop = server.loopStarts().first { $0 > connectedAt + 2 - 3.0 && $0 + 3.0 > Date().timeIntervalSince1970 + 0.2 }
            return loop != nil
        }
        let start = try #require(loop)
        try await Task.sleep(for: .seconds(max(0, start + 3.0 - Date().timeIntervalSince1970)))
        try proxy.stall()
        try await Task.sleep(for: .seconds(max(0, start + 6.0 - Date().timeIntervalSince1970)))
        try proxy.pass()
        try await Task.sleep(for: .seconds(max(0, start + 12.5 - Date().timeIntervalSince1970)))
        #expect(await daemon.terminate()?.status == 0)

        let started = daemon.alerts(kind: "motion_started")
        let loops = server.loopStarts()
        let ages = TwoCrossings.ages(of: started, loops: loops)
        print("3 s flap: motion_started picture ages \(ages.map { String(format: "%.1f", $0) }) s; "
              + "alerts \(daemon.alerts().map { $0["kind"] as? String ?? "" })")
        #expect(ages.count == started.count && ages.allSatisfy { $0 <= Self.bound + Self.slack }, "\(ages) \(started)")
        // The first crossing's event was open when the link dropped: it ends, marked.
        let cut = daemon.alerts(kind: "motion_ended").filter { $0["frames_stopped"] as? Bool == true }
        #expect(cut.count == 1, "\(daemon.alerts())")
        // The second crossing of that loop (7.6 s to 10.4 s), entirely live, has an alert of its own.
        let second = started.filter {
            TwoCrossings.pictureTime(of: $0, loops: loops).map { $0 >= start + 7.5 && $0 <= start + 10.5 } ?? false
        }
        #expect(second.count == 1, "\(started)")
        if let event = second.first?["event"] as? String {
            #expect(cut.first?["event"] as? String != event)
        }
    }

    @Test("max_lag out of its range is refused in one line naming the key, the value and the range")
    func maxLagRange() async throws {
        for value in ["0.1", "31", ".nan"] {
            let setup = try DaemonSetup()
            try "daemon:\n  max_lag: \(value)\n".write(toFile: setup.config, atomically: true, encoding: .utf8)
            let output = try runVigil(["run", "--state-dir", setup.state.path, "--config", setup.config])
            #expect(output.status != 0)
            let lines = output.stderrText.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("max_lag must be 0.5...30 seconds (got "), "\(output.stderrText)")
        }
    }

    @Test("a 20 s outage with a backoff grown to 16 s: camera_online within 5 s of the link returning")
    func outage() async throws {
        let server = try RTSPTestServer(media: ["street": "static_noise.mp4"])
        let proxy = try TCPFaultProxy(target: server.port)
        // The defaults' backoff (1 s doubling) with short deadlines: after 20 s of refused attempts the
        // next full open is up to 16 s away.
        let setup = try DaemonSetup(daemon: ["read_timeout": 1, "offline_after": 2, "min_backoff": 1, "max_backoff": 60])
        try setup.addCamera("outage", url: server.url("street", port: proxy.port))
        let daemon = try setup.start()
        #expect(await eventually(within: 15) { daemon.log.contains("camera=outage connected") })
        try proxy.cut()
        #expect(await eventually(within: 10) { !daemon.alerts(kind: "camera_offline").isEmpty })
        try await Task.sleep(for: .seconds(18))
        try proxy.pass()
        let passedAt = Date()
        let back = await eventually(within: 20) { !daemon.alerts(kind: "camera_online").isEmpty }
        let seconds = Date().timeIntervalSince(passedAt)
        print("20 s outage: camera_online \(String(format: "%.1f s", seconds)) after the link returned")
        #expect(back && seconds <= 5, "camera_online after \(seconds) s: \(daemon.log)")
        #expect(daemon.log.contains("camera reachable again"))
        #expect(await daemon.terminate()?.status == 0)
    }
}
