import Foundation
import Logging
import Synchronization
import Testing
import VigilIngest
import VigilTestSupport
import VigilTesting

/// Measures how long `body` takes, in seconds.
func elapsed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = Date()
    let result = try body()
    return (result, Date().timeIntervalSince(start))
}

/// Collects log lines (for checking what FFmpeg printed).
final class CapturedLog: @unchecked Sendable {
    let lines = Mutex<[String]>([])

    var handler: any LogHandler { Handler(log: self) }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            log.lines.withLock { $0.append(event.message.description) }
        }
    }
}

@Suite("media source on the RTSP test server", .serialized)
struct RTSPSourceTests {
    static let password = "p@ss:w/rd#1"

    @Test("decodes frames from a live RTSP stream, past the end of the looped file")
    func decodesFrames() throws {
        let server = try RTSPTestServer(media: ["cam": "one_crossing.mp4"])
        let source = try MediaSource(url: server.url("cam"))
        #expect(source.info.codec == "h264")
        #expect(source.info.width == 640 && source.info.height == 360)
        var frames = 0
        var lastTime = -Double.infinity
        while frames < 30 {
            let frame = try source.nextFrame()
            #expect(frame.width == 640 && frame.height == 360)
            if let time = frame.presentationTime {
                #expect(time > lastTime)
                lastTime = time
            }
            frames += 1
        }
    }

    @Test("a stalled stream is reported within 1.1x the read deadline")
    func stallIsReportedOnTime() throws {
        let server = try RTSPTestServer(media: ["cam": "static_noise.mp4"])
        let proxy = try TCPFaultProxy(target: server.port)
        let deadline = 2.0
        let source = try MediaSource(url: server.url("cam", port: proxy.port),
                                     options: SourceOptions(readTimeout: .seconds(deadline)))
        for _ in 0..<10 { _ = try source.nextFrame() }
        try proxy.stall()
        var lastFrame = Date()
        var ending: MediaError?
        while ending == nil {
            do {
                _ = try source.nextFrame()
                lastFrame = Date()
            } catch {
                ending = error
            }
        }
        let silence = Date().timeIntervalSince(lastFrame)
        #expect(ending?.code == .stalled)
        #expect(silence <= deadline * 1.1, "stall reported after \(silence) s")
        #expect(silence >= deadline * 0.9, "stall reported early, after \(silence) s")
    }

    @Test("a server that accepts but never answers fails the open within its deadline")
    func openDeadline() throws {
        let server = try RTSPTestServer(media: ["cam": "static_noise.mp4"])
        let proxy = try TCPFaultProxy(target: server.port)
        try proxy.blackhole()
        let (error, seconds) = elapsed {
            #expect(throws: MediaError.self) {
                try MediaSource(url: server.url("cam", port: proxy.port),
                                options: SourceOptions(openTimeout: .seconds(2)))
            }
        }
        #expect(error?.code == .stalled)
        #expect(seconds <= 2.2, "open gave up after \(seconds) s")
    }

    @Test("a wrong password is classified as credentials rejected; the right one works",
          arguments: ["basic", "digest"])
    func credentials(method: String) throws {
        let server = try RTSPTestServer(media: ["cam": "static_noise.mp4"],
                                        auth: (method: method, user: "operator", password: Self.password))
        let wrong = #expect(throws: MediaError.self) {
            try MediaSource(url: server.url("cam", user: "operator", password: "wrong"))
        }
        #expect(wrong?.code == .credentialsRejected)
        let missing = #expect(throws: MediaError.self) { try MediaSource(url: server.url("cam")) }
        #expect(missing?.code == .credentialsRejected)
        let source = try MediaSource(url: server.url("cam", user: "operator", password: Self.password))
        _ = try source.nextFrame()
    }

    @Test("a wrong path is classified as not found")
    func wrongPath() throws {
        let server = try RTSPTestServer(media: ["cam": "static_noise.mp4"])
        let error = #expect(throws: MediaError.self) { try MediaSource(url: server.url("nothing-here")) }
        #expect(error?.code == .notFound)
    }

    @Test("a port where nothing listens is classified as connection refused, at once")
    func refused() throws {
        let port = try closedPort()
        let (error, seconds) = elapsed {
            #expect(throws: MediaError.self) { try MediaSource(url: "rtsp://127.0.0.1:\(port)/cam") }
        }
        #expect(error?.code == .connectionRefused)
        #expect(seconds < 1)
    }

    @Test("a stop from another thread ends a blocked read within 250 ms")
    func stopEndsBlockedRead() throws {
        let server = try RTSPTestServer(media: ["cam": "static_noise.mp4"])
        let proxy = try TCPFaultProxy(target: server.port)
        let token = StopToken()
        let source = try MediaSource(url: server.url("cam", port: proxy.port),
                                     options: SourceOptions(readTimeout: .seconds(30)), stopToken: token)
        _ = try source.nextFrame()
        try proxy.stall()
        // Drain what was already buffered, then block.
        let stopAt = Mutex<Date?>(nil)
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 1.5)
            stopAt.withLock { $0 = Date() }
            token.stop()
        }
        var ending: MediaError?
        while ending == nil {
            do { _ = try source.nextFrame() } catch { ending = error }
        }
        let stoppedAfter = Date().timeIntervalSince(try #require(stopAt.withLock { $0 }))
        #expect(ending?.code == .stopped)
        #expect(stoppedAfter <= 0.25, "stop took \(stoppedAfter) s")
    }

    @Test("a stop from another thread ends a blocked open within 250 ms")
    func stopEndsBlockedOpen() throws {
        let server = try RTSPTestServer(media: ["cam": "static_noise.mp4"])
        let proxy = try TCPFaultProxy(target: server.port)
        try proxy.blackhole()
        let token = StopToken()
        let stopAt = Mutex<Date?>(nil)
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 1)
            stopAt.withLock { $0 = Date() }
            token.stop()
        }
        let error = #expect(throws: MediaError.self) {
            try MediaSource(url: server.url("cam", port: proxy.port), options: SourceOptions(openTimeout: .seconds(30)),
                            stopToken: token)
        }
        let stoppedAfter = Date().timeIntervalSince(try #require(stopAt.withLock { $0 }))
        #expect(error?.code == .stopped)
        #expect(stoppedAfter <= 0.25, "stop took \(stoppedAfter) s")
    }

    @Test("FFmpeg's own log reaches the logger as whole lines with credentials redacted")
    func ffmpegLogIsRedacted() throws {
        let server = try RTSPTestServer(media: ["cam": "static_noise.mp4"],
                                        auth: (method: "basic", user: "operator", password: Self.password))
        let captured = CapturedLog()
        Redactor.shared.register(secret: Self.password, user: "operator")
        FFmpegLog.route(to: Logger(label: "test.ffmpeg", factory: { _ in captured.handler }), level: .trace)
        defer { FFmpegLog.silence() }
        let source = try MediaSource(url: server.url("cam", user: "operator", password: Self.password))
        _ = try source.nextFrame()
        let lines = captured.lines.withLock { $0 }
        #expect(lines.count > 10)
        #expect(lines.allSatisfy { !$0.contains("\n") })
        let base64 = Data("operator:\(Self.password)".utf8).base64EncodedString()
        let encoded = Self.password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        for line in lines {
            #expect(!line.contains(Self.password) && !line.contains(encoded) && !line.contains(base64), "\(line)")
        }
        #expect(lines.contains { $0.contains("***") }, "nothing was redacted: FFmpeg printed no credential form")
    }
}
