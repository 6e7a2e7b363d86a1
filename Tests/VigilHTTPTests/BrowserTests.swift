import Foundation
import Testing
import VigilTestSupport
import VigilTesting

/// The status and register pages in headless Chromium (Debian's `chromium`), driven over the DevTools
/// protocol by scripts/browser_check.py, against a real `vigil run` watching the project's RTSP server.
/// Screenshots go to .build/test-output/http/.
@Suite("the pages in a real browser", .serialized)
struct BrowserTests {
    static let output = Fixtures.projectRoot.appendingPathComponent(".build/test-output/http")

    /// Loads `url`, waits until `until` holds without reloading, returns the JSON value of `evaluate`.
    static func browse(_ url: String, script: String? = nil, until: String, evaluate: String,
                       screenshot: String) throws -> (held: Bool, value: Any?) {
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let result = try runProcess("/usr/bin/python3", [Fixtures.projectRoot.appendingPathComponent("scripts/browser_check.py").path,
                                                         url] + (script.map { ["--script", $0] } ?? []) + ["--until", until, "--eval", evaluate, "--timeout", "60",
                                                         "--width", "1100", "--height", "900",
                                                         "--screenshot", output.appendingPathComponent(screenshot).path])
        let line = try #require(result.stdoutText.split(separator: "\n").last, "browser_check: \(result.stderrText)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return (object["held"] as? Bool ?? false, object["value"])
    }

    @Test("the status page shows each camera's state and an alert raised after loading appears in the live feed")
    func statusPage() async throws {
        let fixture = try HTTPDaemonFixture(media: "two_crossings.mp4")
        try fixture.start()
        let tiles = "[...document.querySelectorAll('.tile')]"
        let (held, value) = try Self.browse(
            "http://127.0.0.1:\(fixture.port)/",
            until: "document.querySelectorAll('#feed li.alert').length > 0 && \(tiles).every(t => t.dataset.state === 'streaming')",
            evaluate: "({tiles: \(tiles).map(t => [t.dataset.camera, t.dataset.state, t.querySelector('.state').textContent, t.className,"
                + " t.querySelector('.availability .today').textContent, t.querySelector('.availability .week').textContent]),"
                + " feed: [...document.querySelectorAll('#feed li.alert')].map(li => li.textContent), navigations: performance.getEntriesByType('navigation').length})",
            screenshot: "status.png")
        #expect(held, "\(String(describing: value))")
        let result = try #require(value as? [String: Any])
        let shown = result["tiles"] as? [[String]] ?? []
        #expect(shown.map { $0[0] } == ["depot-yard", "street-1"])
        for tile in shown {
            #expect(tile[1] == "streaming" && tile[2] == "Streaming" && tile[3].contains("good"), "\(tile)")
            // Availability today and over 7 days: a share in percent, refreshed with the tiles.
            for share in tile[4...5] {
                #expect(share.wholeMatch(of: /\d{1,3}\.\d%/) != nil && Double(share.dropLast())! <= 100, "\(tile)")
            }
        }
        let feed = result["feed"] as? [String] ?? []
        #expect(feed.contains { $0.contains("street-1: motion") }, "\(feed)")
        #expect(result["navigations"] as? Int == 1, "the page was not reloaded")
        #expect(await fixture.daemon.terminate()?.status == 0)
    }

    @Test("behind a token, the browser goes to the login form, logs in, and the live feed works with the session cookie")
    func statusPageBehindLogin() async throws {
        let fixture = try HTTPDaemonFixture(media: "two_crossings.mp4")
        try fixture.start(http: ["token_file: \(try fixture.file("token", LoginTests.token + "\n"))"])
        let (held, value) = try Self.browse(
            "http://127.0.0.1:\(fixture.port)/",
            script: "document.querySelector('input[name=token]').value = '\(LoginTests.token)'; document.querySelector('form').submit(); true",
            until: "location.pathname === '/' && document.querySelectorAll('#feed li.alert').length > 0",
            evaluate: "({path: location.pathname, tiles: document.querySelectorAll('.tile').length, cookies: document.cookie,"
                + " feed: [...document.querySelectorAll('#feed li.alert')].map(li => li.textContent),"
                + " status: document.getElementById('feed-status').textContent, logout: !!document.querySelector('form[action=\"/logout\"]')})",
            screenshot: "status-login.png")
        #expect(held, "\(String(describing: value))")
        let result = try #require(value as? [String: Any])
        #expect(result["path"] as? String == "/" && result["tiles"] as? Int == 2)
        #expect((result["feed"] as? [String] ?? []).contains { $0.contains("street-1: motion") }, "\(result)")
        #expect((result["status"] as? String)?.hasPrefix("live") == true)
        #expect(result["cookies"] as? String == "", "the session cookie is HttpOnly: scripts cannot read it")
        #expect(result["logout"] as? Bool == true)
        #expect(await fixture.daemon.terminate()?.status == 0)
    }

    @Test("the register page lists the public cameras on its table and map, and no private one")
    func registerPage() async throws {
        let fixture = try HTTPDaemonFixture()
        try fixture.start()
        let (held, value) = try Self.browse(
            "http://127.0.0.1:\(fixture.port)/register",
            until: "document.querySelectorAll('#register tbody tr').length > 0",
            evaluate: "({rows: [...document.querySelectorAll('#register tbody tr')].map(r => r.cells[0].textContent),"
                + " dots: document.querySelectorAll('svg circle').length, text: document.body.innerText})",
            screenshot: "register.png")
        #expect(held)
        let result = try #require(value as? [String: Any])
        #expect(result["rows"] as? [String] == ["street-1"])
        #expect(result["dots"] as? Int == 1)
        let text = result["text"] as? String ?? ""
        #expect(!text.contains("depot-yard") && !text.contains("Depot yard"))
        #expect(await fixture.daemon.terminate()?.status == 0)
    }
}
