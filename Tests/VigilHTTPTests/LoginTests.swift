import Crypto
import Foundation
import Testing
import VigilTestSupport
import VigilTesting

/// The status page's login: `POST /login` with the token gives an HttpOnly, SameSite=Strict session
/// cookie that the API and the alert stream accept like the bearer token; nothing else does.
@Suite("login sessions for the status page", .serialized)
struct LoginTests {
    static let token = "login-token-0123456789abcdef"

    static func post(_ port: Int, _ path: String, body: String, headers: [String] = []) throws -> HTTPReply {
        try HTTP.exchange(port, "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                          + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n"
                          + headers.map { $0 + "\r\n" }.joined() + "\r\n" + body)
    }

    /// A session value signed with `key`, expiring at `expiry`, as the server makes them.
    static func session(key: String, expiry: Int, nonce: String = String(repeating: "ab", count: 16)) -> String {
        let message = "v1.\(expiry).\(nonce)"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: Data(key.utf8)))
        return message + "." + mac.map { String(format: "%02x", $0) }.joined()
    }

    @Test("the right token gives a session cookie the API and the stream accept; bad, forged, expired and ended sessions get 401")
    func loginAndSessions() async throws {
        let fixture = try HTTPDaemonFixture()
        try fixture.start(http: ["token_file: \(try fixture.file("token", Self.token + "\n"))"])
        let entry = try fixture.get("/")
        #expect(entry.status == 303 && entry.headers["location"] == "/login", "\(entry)")
        let form = try fixture.get("/login")
        #expect(form.status == 200 && form.text.contains("<form method=\"post\" action=\"/login\"") && form.text.contains("type=\"password\""))

        // Wrong tokens: the form again with 401, no cookie, and what was sent is not echoed.
        for wrong in ["token=wrong-guess-987654321", "token=" + Self.token.dropLast(), "token=" + Self.token + "x", "", "token=",
                      "tok=" + Self.token, "token=%ZZ"] {
            let reply = try Self.post(fixture.port, "/login", body: wrong)
            #expect(reply.status == 401, "\(wrong): \(reply)")
            #expect(reply.headers["set-cookie"] == nil)
            #expect(reply.text.contains("That token is not valid"))
            #expect(!reply.text.contains("wrong-guess") && !reply.text.contains(Self.token.prefix(12)), "\(wrong) echoed")
        }
        let huge = try Self.post(fixture.port, "/login", body: "token=" + String(repeating: "a", count: 10_000))
        #expect(huge.status == 413, "\(huge)")

        let login = try Self.post(fixture.port, "/login", body: "token=" + Self.token)
        #expect(login.status == 303 && login.headers["location"] == "/", "\(login)")
        let setCookie = try #require(login.headers["set-cookie"])
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
            #expect(setCookie.contains(attribute), "\(setCookie)")
        }
        let value = try #require(setCookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last.map(String.init))
        #expect(!value.contains(Self.token) && !setCookie.contains(Self.token))
        let cookie = ["Cookie: theme=dark; vigil_session=\(value)"]
        for path in ["/", "/api/v1/cameras", "/metrics", "/api/v1/alerts"] {
            #expect(try fixture.get(path, headers: cookie).status == 200, "\(path)")
        }
        let stream = try RawConnection(port: fixture.port, timeout: 5)
        stream.send(Array("GET /api/v1/alerts/stream HTTP/1.1\r\nHost: x\r\n\(cookie[0])\r\n\r\n".utf8))
        let streamed = String(decoding: stream.receive { String(decoding: $0, as: UTF8.self).contains("vigil alert stream") }, as: UTF8.self)
        #expect(streamed.hasPrefix("HTTP/1.1 200") && streamed.contains("text/event-stream"), "\(streamed)")

        // Forged: garbage, the token itself, a MAC of another key, a changed expiry, an expired session.
        let later = Int(Date().timeIntervalSince1970) + 3600
        let parts = value.split(separator: ".")
        let forged = ["x", Self.token, "v1.\(later).\(parts[2]).\(parts[3])", Self.session(key: "another-token-000000000", expiry: later),
                      Self.session(key: Self.token, expiry: Int(Date().timeIntervalSince1970) - 10),
                      "v1.\(parts[1]).\(parts[2]).\(parts[3].dropLast())0", value + "."]
        for bad in forged {
            for path in ["/api/v1/cameras", "/metrics", "/api/v1/alerts/stream"] {
                let reply = try fixture.get(path, headers: ["Cookie: vigil_session=\(bad)"])
                #expect(reply.status == 401, "\(path) with \(bad): \(reply)")
                #expect(!reply.text.contains(bad.prefix(20)) && !reply.text.contains(Self.token))
            }
            #expect(try fixture.get("/", headers: ["Cookie: vigil_session=\(bad)"]).status == 401)
        }
        // A session the test signs with the real token is accepted: the check is the MAC, not a lookup.
        #expect(try fixture.get("/api/v1/cameras", headers: ["Cookie: vigil_session=\(Self.session(key: Self.token, expiry: later))"]).status == 200)

        // Logout ends the session on the server too, not only in the browser.
        let logout = try Self.post(fixture.port, "/logout", body: "", headers: cookie)
        #expect(logout.status == 303 && logout.headers["location"] == "/login")
        #expect(logout.headers["set-cookie"]?.contains("Max-Age=0") == true)
        #expect(try fixture.get("/api/v1/cameras", headers: cookie).status == 401)
        #expect(await fixture.daemon.terminate()?.status == 0)
    }

    @Test("without a token file there is nothing to log in to")
    func noTokenNoLogin() async throws {
        let fixture = try HTTPDaemonFixture()
        try fixture.start()
        let form = try fixture.get("/login")
        #expect(form.status == 303 && form.headers["location"] == "/")
        #expect(try Self.post(fixture.port, "/login", body: "token=x").status == 404)
        #expect(try fixture.get("/").status == 200)
        #expect(await fixture.daemon.terminate()?.status == 0)
    }
}
