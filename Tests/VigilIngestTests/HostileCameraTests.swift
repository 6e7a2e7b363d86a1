import Foundation
import Logging
import Testing
import VigilIngest
import VigilTestSupport
import VigilTesting

@Suite("hostile cameras and bad links: bounded by the shim, measured by the feed", .serialized)
struct HostileCameraTests {
    /// Why opening `url` failed (nil if it opened), and how long it took.
    func openFailure(_ url: String) -> (error: MediaError?, seconds: Double) {
        let start = Date()
        do {
            _ = try MediaSource(url: url, options: SourceOptions(openTimeout: .seconds(5)))
            return (nil, Date().timeIntervalSince(start))
        } catch {
            return (error, Date().timeIntervalSince(start))
        }
    }

    @Test("a camera answering 302 to itself: the open fails after 2 redirects, in a few connections")
    func redirectLoop() throws {
        let server = try HostileRTSPServer(mode: "redirect")
        let (failure, seconds) = openFailure(server.url)
        let error = try #require(failure, "the open succeeded")
        let connections = try server.counts().connections
        print("redirect loop: \(connections) connections, failed in \(String(format: "%.2f", seconds)) s: \(error.reason)")
        #expect(error.reason.contains("redirected more than 2 times"), "\(error)")
        #expect(connections <= 4, "\(connections) connections")
        #expect(seconds < 2)
    }

    @Test("a camera announcing a 200 MB SDP: the open fails at once with a clear error, the SDP is not read")
    func hugeSDP() async throws {
        let server = try HostileRTSPServer(mode: "huge-sdp")
        let (failure, seconds) = openFailure(server.url)
        let error = try #require(failure, "the open succeeded")
        // Once the server has seen every connection end, the bytes it sent are final.
        #expect(try await eventually(within: 5) {
            let counts = try server.counts()
            return counts.closed == counts.connections
        })
        let sent = try server.counts().sdpBytes
        print("200 MB SDP: open failed in \(String(format: "%.2f", seconds)) s after \(sent) bytes of it: \(error.reason)")
        #expect(error.reason.contains("over the 40 MiB Vigil accepts"), "\(error)")
        #expect(sent < 16 << 20, "\(sent) bytes of the SDP were read")
        #expect(seconds < 2)
    }

    @Test("the reachability probe connects to a listening port, not to a closed one, and parses RTSP authorities")
    func probe() throws {
        let server = try HostileRTSPServer(mode: "redirect")
        #expect(ReachabilityProbe(url: "rtsp://u:p%40ss@127.0.0.1:\(server.port)/cam")?.canConnect(timeout: 1) == true)
        #expect(ReachabilityProbe(url: "rtsp://127.0.0.1:\(try closedPort())/cam")?.canConnect(timeout: 1) == false)
        let bracketed = ReachabilityProbe(url: "rtsp://[::1]:8554/x")
        #expect(bracketed?.host == "::1" && bracketed?.port == 8554)
        #expect(ReachabilityProbe(url: "rtsps://cam.example/x")?.port == 322)
        #expect(ReachabilityProbe(url: "rtsp://a:b@c@10.0.0.5/s")?.host == "10.0.0.5")
        #expect(ReachabilityProbe(url: "/var/video.mp4") == nil)
        #expect(ReachabilityProbe(url: "rtsp://host:99999/x") == nil)
    }
}

@Suite("FFmpeg's log priorities")
struct FFmpegLogLevelTests {
    @Test("routine libav errors are logged at debug, real ones keep their priority")
    func routine() {
        #expect(FFmpegLog.level(forLibav: 16, line: "[h264 @ 0x55d0] missing picture in access unit with size 17") == .debug)
        #expect(FFmpegLog.level(forLibav: 24, line: "[rtsp @ 0x55d0] RTP: missed 12 packets") == .debug)
        #expect(FFmpegLog.level(forLibav: 16, line: "[tcp @ 0x55d0] Connection to tcp://x failed: Connection refused") == .error)
        #expect(FFmpegLog.level(forLibav: 24, line: "[h264 @ 0x55d0] concealing 40 DC, 40 AC, 40 MV errors") == .warning)
    }
}

@Suite("live edge")
struct LiveEdgeTests {
    @Test("a picture is behind by how much later it is seen than the quickest packets allow")
    func behind() {
        var edge = LiveEdge()
        #expect(edge.behind(media: 0, at: 100) == nil)
        for frame in 0..<30 { edge.packetArrived(media: Double(frame) / 15, at: 100.2 + Double(frame) / 15) }
        #expect(abs(edge.behind(media: 29.0 / 15, at: 100.2 + 29.0 / 15)! - 0) < 1e-9)
        // A 3 s stall, then the backlog in a burst: the first packet of it is 3 s behind.
        edge.packetArrived(media: 30.0 / 15, at: 100.2 + 30.0 / 15 + 3)
        #expect(abs(edge.behind(media: 30.0 / 15, at: 100.2 + 30.0 / 15 + 3)! - 3) < 1e-9)
    }

    @Test("slow clock drift is followed, a link slower than the stream is not")
    func driftAndSlowLink() {
        var drifting = LiveEdge(), slow = LiveEdge()
        // An hour at 15 fps: the camera's clock 0.5% slow; a link delivering 75% of real time for 20 s.
        for frame in 0..<54_000 {
            let media = Double(frame) / 15
            drifting.packetArrived(media: media, at: media * 1.005)
        }
        #expect(drifting.behind(media: 53_999.0 / 15, at: 53_999.0 / 15 * 1.005)! < 0.5)
        for frame in 0..<300 {
            let media = Double(frame) / 15
            slow.packetArrived(media: media, at: media / 0.75)
        }
        #expect(abs(slow.behind(media: 299.0 / 15, at: 299.0 / 15 / 0.75)! - 299.0 / 15 / 3) < 0.1)
    }

    @Test("a timestamp jump starts the timing afresh instead of looking like a huge lag")
    func timestampJump() {
        var edge = LiveEdge()
        for frame in 0..<30 { edge.packetArrived(media: 1000 + Double(frame) / 15, at: Double(frame) / 15) }
        edge.packetArrived(media: 0, at: 2)  // the camera restarted its clock
        #expect(edge.behind(media: 0, at: 2) == 0)
        edge.packetArrived(media: 1.0 / 15, at: 2 + 1.0 / 15)
        #expect(edge.behind(media: 1.0 / 15, at: 2 + 1.0 / 15)! < 1e-9)
    }
}
