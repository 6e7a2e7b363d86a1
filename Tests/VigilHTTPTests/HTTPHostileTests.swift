import Foundation
import Testing
import VigilTestSupport
import VigilTesting

@Suite("HTTP surface under hostile input", .serialized)
struct HTTPHostileTests {
    static let token = "0123456789abcdef0123456789abcdef"

    @Test("bad listen settings and a missing token stop vigil run with one clear line")
    func refusals() async throws {
        let fixture = try HTTPDaemonFixture()
        let cases: [([String], String?, String)] = [
            (["--http", "0.0.0.0:0"], nil, "http: refusing to listen on 0.0.0.0:0 without a token: set http.token_file, or listen on 127.0.0.1"),
            (["--http", "nonsense"], nil, "--http: 'nonsense' has no port; use ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080"),
            (["--http", "127.0.0.1:70000"], nil, "--http: port must be 0...65535 (got '70000')"),
            ([], "http:\n  listen: 127.0.0.1:0\n  max_connections: 0\n", "http.max_connections must be 1...10000 (got 0)"),
            ([], "http:\n  listen: 127.0.0.1:0\n  header_timeout: 1e9\n", "http.header_timeout must be 0.5...300 seconds"),
            ([], "http:\n  listen: 127.0.0.1:0\n  port: 80\n", "unknown key 'http.port'"),
            ([], "http:\n  listen: 127.0.0.1:0\n  token_file: \(try fixture.file("short", "abc\n"))\n",
             "must hold a token of at least 16 printable characters"),
        ]
        for (arguments, config, message) in cases {
            let configArguments = try config.map { ["--config", try fixture.file("bad.yaml", $0)] } ?? []
            let output = try runVigil(["run", "--state-dir", fixture.state.path] + configArguments + arguments)
            #expect(output.status != 0)
            #expect(output.stderrText.contains(message), "\(output.stderrText)")
            #expect(output.stderrText.split(separator: "\n").count == 1, "\(output.stderrText)")
        }
    }

    @Test("with a token file, everything but health and the register needs the bearer token")
    func bearerToken() async throws {
        let fixture = try HTTPDaemonFixture()
        let tokenFile = try fixture.file("token", Self.token + "\n")
        try fixture.start(http: ["token_file: \(tokenFile)"])
        for path in ["/healthz", "/register", "/register.json", "/register.csv", "/register.geojson"] {
            #expect(try fixture.get(path).status == 200, "\(path)")
        }
        for path in ["/", "/metrics", "/api/v1/cameras", "/api/v1/alerts", "/api/v1/alerts/stream", "/api/v1/cameras/street-1",
                     "/api/v1/snapshots/street-1/x.jpg", "/nowhere"] {
            for header in [[], ["Authorization: Bearer wrong"], ["Authorization: Bearer " + Self.token.dropLast()],
                           ["Authorization: Bearer " + Self.token + "0"], ["Authorization: Basic " + Self.token]] {
                let reply = try fixture.get(path, headers: header)
                if path == "/" && header.isEmpty {  // a browser without a session goes to the login form
                    #expect(reply.status == 303 && reply.headers["location"] == "/login", "\(reply)")
                    continue
                }
                #expect(reply.status == 401, "\(path) \(header): \(reply)")
                #expect(reply.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
                #expect((try? reply.json()["error"] as? String)?.contains("token") == true, "\(reply)")
                #expect(!reply.text.contains(Self.token.prefix(8)))
            }
        }
        let authorized = try fixture.get("/api/v1/cameras", headers: ["Authorization: Bearer " + Self.token])
        #expect(authorized.status == 200, "\(authorized)")
        #expect(await fixture.daemon.terminate()?.status == 0)
    }

    @Test("path traversal, huge headers, slowloris and bad parameters get a clear 4xx and nothing else")
    func hostileRequests() async throws {
        let fixture = try HTTPDaemonFixture()
        try fixture.start(http: ["header_timeout: 1", "max_connections: 16"])
        var replies: [HTTPReply] = []
        for path in ["/api/v1/snapshots/../../../etc/passwd", "/api/v1/snapshots/street-1/..%2F..%2Fqueue.sqlite.jpg",
                     "/api/v1/snapshots/..%2F..%2F/x.jpg", "/api/v1/snapshots/street-1/%2e%2e.jpg",
                     "/api/v1/snapshots/street-1/.jpg", "/api/v1/snapshots/street-1/a.b.jpg", "/../../etc/passwd",
                     "/api/v1/snapshots/street-1/01JDQ3V5K8M2X7R4T9B6C1N0PZ.jpg"] {
            let reply = try HTTP.exchange(fixture.port, "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect((400..<500).contains(reply.status), "\(path): \(reply)")
            #expect(!reply.text.contains("root:"), "\(path)")
            replies.append(reply)
        }
        for query in ["kind=nonsense", "limit=0", "limit=1000001", "limit=abc", "since=../../x", "since=1"] {
            let reply = try fixture.get("/api/v1/alerts?\(query)")
            #expect(reply.status == 400, "\(query): \(reply)")
            #expect((try? reply.json()["error"] as? String) != nil, "\(query): \(reply)")
            replies.append(reply)
        }
        // Headers beyond 16 KiB: refused, and the server goes on serving.
        let huge = try HTTP.exchange(fixture.port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
                                     + String(repeating: "a", count: 100_000) + "\r\n\r\n")
        #expect(huge.status == 0 || (400..<500).contains(huge.status), "\(huge)")
        let many = try HTTP.exchange(fixture.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                     + (0..<2000).map { "X-H\($0): v\r\n" }.joined() + "\r\n")
        #expect(many.status == 0 || (400..<500).contains(many.status), "\(many)")
        #expect(try fixture.get("/healthz").status == 200)

        // Slowloris: a byte every 300 ms never finishes the headers; the server hangs up after header_timeout.
        let slow = try RawConnection(port: fixture.port, timeout: 10)
        let start = Date()
        slow.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\n".utf8))
        var closed = false
        for byte in Array("X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8) {
            usleep(300_000)  // the slowloris pace, not a synchronisation
            if !slow.send([byte]) { closed = true; break }
        }
        closed = closed || slow.closedByServer()
        let elapsed = Date().timeIntervalSince(start)
        #expect(closed && elapsed < 5, "a slowloris client was kept \(elapsed) s")
        #expect(try fixture.get("/healthz").status == 200)

        let unknown = try fixture.get("/nowhere")
        #expect(unknown.status == 404)
        #expect(try unknown.json()["error"] is String)
        for reply in replies + [huge, many, unknown] {
            let text = String(decoding: reply.raw, as: UTF8.self)
            for leak in [fixture.state.path, "/tmp/", ".swift", "Sources/", "Error(", "Fatal"] {
                #expect(!text.contains(leak), "a response shows \(leak): \(text)")
            }
        }
        #expect(await fixture.daemon.terminate()?.status == 0)
    }

    @Test("no endpoint shows a camera's URL, user or password in any form, or the token")
    func noSecretsInResponses() async throws {
        let fixture = try HTTPDaemonFixture()
        let tokenFile = try fixture.file("token", Self.token + "\n")
        try fixture.start(http: ["token_file: \(tokenFile)"])
        _ = fixture.wait(60) { !fixture.daemon.alerts(kind: "motion_started").isEmpty }
        let password = HTTPDaemonFixture.password
        let forms = [password, password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!,
                     Data("operator:\(password)".utf8).base64EncodedString(), "rtsp://", Self.token]
        let auth = ["Authorization: Bearer " + Self.token]
        var paths = ["/", "/login", "/healthz", "/readyz", "/register", "/register.json", "/register.csv", "/register.geojson",
                     "/metrics", "/api/v1/cameras", "/api/v1/cameras/depot-yard", "/api/v1/cameras/street-1",
                     "/api/v1/alerts?limit=1000", "/api/v1/cameras/\(password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"]
        let alerts = try fixture.get("/api/v1/alerts?limit=1000", headers: auth).json()["alerts"] as? [[String: Any]] ?? []
        for alert in alerts {
            if let snapshot = alert["snapshot"] as? String {
                #expect(snapshot.hasPrefix("/api/v1/snapshots/"), "an alert shows a file path: \(snapshot)")
                paths.append(snapshot)
            }
        }
        for path in paths {
            let reply = try fixture.get(path, headers: auth)
            let text = String(decoding: reply.raw, as: UTF8.self)
            for form in forms + [fixture.state.path] {
                #expect(!text.contains(form), "\(path) shows '\(form)'")
            }
        }
        let stream = try RawConnection(port: fixture.port, timeout: 3)
        stream.send(Array("GET /api/v1/alerts/stream?last_event_id=00000000000000000000000000 HTTP/1.1\r\nHost: x\r\n\(auth[0])\r\n\r\n".utf8))
        let streamed = String(decoding: stream.receive(), as: UTF8.self)
        #expect(streamed.contains("id: "), "\(streamed)")
        for form in forms + [fixture.state.path] { #expect(!streamed.contains(form), "the stream shows '\(form)'") }
        #expect(await fixture.daemon.terminate()?.status == 0)
    }
}
