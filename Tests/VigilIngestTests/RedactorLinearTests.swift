import Foundation
import Testing
import VigilIngest

extension RedactorTests {
    /// Inputs of about `n` characters shaped like what each pattern looks for.
    static let shapes: [(String, @Sendable (Int) -> String)] = [
        ("letters", { String(repeating: "a", count: $0) }),
        ("a scheme that never ends", { String(repeating: "a1+", count: $0 / 3) + "://" }),
        ("schemes", { String(repeating: "rtsp://", count: $0 / 7) }),
        ("at signs", { "rtsp://" + String(repeating: "@", count: $0) }),
        ("userinfo", { "rtsp://" + String(repeating: "a:b", count: $0 / 3) + "/x" }),
        ("query secrets", { String(repeating: "?password=", count: $0 / 10) }),
        ("ampersands", { String(repeating: "&", count: $0) }),
        ("headers", { String(repeating: "authorization:", count: $0 / 14) }),
        ("header spaces", { "authorization:" + String(repeating: " ", count: $0) }),
        ("a secret's prefix", { String(repeating: "hunter2-secre", count: $0 / 13) }),
    ]

    @Test("100,000-character inputs of every shape the patterns look for take linear time",
          arguments: shapes.indices)
    func linearTime(shape: Int) {
        var redactor = Redactor()
        redactor.register(secret: "hunter2-secret", user: "admin")
        let clock = ContinuousClock()
        let (name, make) = Self.shapes[shape]
        let small = make(10_000), large = make(100_000)
        // The best of three runs, so that a moment without the CPU (other tests, a build) does not count.
        func best(_ input: String) -> Duration {
            (0..<3).map { _ in clock.measure { _ = redactor.redact(input) } }.min() ?? .zero
        }
        let smallTime = best(small), largeTime = best(large)
        // Ten times the input: about ten times the time when linear, a hundred when quadratic (the
        // old patterns took 7.4 s for 20,000 characters and never finished 100,000).
        #expect(largeTime < smallTime * 30 + .milliseconds(100), "\(name): \(smallTime) then \(largeTime)")
        #expect(largeTime < .seconds(2), "\(name): \(largeTime)")
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
