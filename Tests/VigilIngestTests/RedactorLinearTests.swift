import Foundation
import Testing
import VigilIngest

extension RedactorTests {
    @Test("100,000-character inputs of every shape the patterns look for are redacted in milliseconds",
          arguments: [
            String(repeating: "a", count: 100_000),
            String(repeating: "a1+", count: 33_334) + "://",
            String(repeating: "rtsp://", count: 14_286),
            "rtsp://" + String(repeating: "@", count: 100_000),
            "rtsp://" + String(repeating: "a:b", count: 33_334) + "/x",
            String(repeating: "?password=", count: 10_000),
            String(repeating: "&", count: 100_000),
            String(repeating: "authorization:", count: 7_143),
            "authorization:" + String(repeating: " ", count: 100_000),
          ])
    func linearTime(input: String) {
        var redactor = Redactor()
        redactor.register(secret: "hunter2-secret", user: "admin")
        let clock = ContinuousClock()
        let elapsed = clock.measure { _ = redactor.redact(input) }
        // A quadratic scan of 100,000 characters takes seconds; a linear one, milliseconds (debug build).
        #expect(elapsed < .milliseconds(500), "\(elapsed)")
    }

    @Test("what the patterns masked before is still masked, and what they left alone is kept",
          arguments: [
            ("rtsp://admin:p@ss@10.0.0.5:554/s?x=1", "rtsp://***@10.0.0.5:554/s?x=1"),
            ("a rtsp://u:p@h/x and http://v:q@k/y", "a rtsp://***@h/x and http://***@k/y"),
            ("1rtsp://u:p@h", "1rtsp://***@h"),
            ("://u:p@h", "://u:p@h"),
            ("rtsp://host/path@x", "rtsp://host/path@x"),
            ("rtsp://u:p@h\nrtsp://v:q@k", "rtsp://***@h\nrtsp://***@k"),
            ("GET /x?user=a&PassWord=hunter&y=2#frag", "GET /x?user=a&PassWord=***&y=2#frag"),
            ("x;token=abc def", "x;token=*** def"),
            ("?key=", "?key=***"),
            ("Authorization: Basic YWRtaW46cHc=\nnext", "Authorization: ***\nnext"),
            ("proxy-AUTHORIZATION:digest x", "proxy-AUTHORIZATION:***"),
            ("authorization:   ", "authorization:   "),
            ("übersicht rtsp://ü:p@h/ä", "übersicht rtsp://***@h/ä"),
          ])
    func keepsEveryRedaction(input: String, expected: String) {
        #expect(Redactor().redact(input) == expected)
    }
}
