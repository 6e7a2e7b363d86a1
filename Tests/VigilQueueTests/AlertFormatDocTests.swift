import Foundation
import Testing
import VigilDetector
import VigilStore
import VigilTestSupport

@Suite("alert format reference")
struct AlertFormatDocTests {
    /// The first column of every table row in docs/alerts.md under the heading `title`.
    static func documentedNames(under title: String) throws -> Set<String> {
        let page = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("docs/alerts.md"), encoding: .utf8)
        var names: Set<String> = []
        var inside = false
        for line in page.split(separator: "\n") {
            if line.hasPrefix("#") {
                inside = line.trimmingCharacters(in: CharacterSet(charactersIn: "# ")) == title
            } else if inside, line.hasPrefix("| `") {
                names.insert(String(line.split(separator: "`")[1]))
            }
        }
        return names
    }

    @Test("docs/alerts.md lists every alert kind this build raises")
    func everyKind() throws {
        let documented = try Self.documentedNames(under: "Kinds")
        for kind in AlertKind.known {
            #expect(documented.contains(kind.rawValue), "alert kind \(kind) has no row under Kinds in docs/alerts.md")
        }
        #expect(documented.count == AlertKind.known.count, "docs/alerts.md lists kinds Vigil does not raise")
    }

    @Test("docs/alerts.md lists every field an alert line can carry")
    func everyField() throws {
        var alert = Alert(kind: .motionEnded, camera: "gate", event: "e", zones: ["z"], peakArea: 0.5,
                          box: PixelBox(x: 1, y: 2, width: 3, height: 4), snapshot: "s.jpg", interrupted: true,
                          framesStopped: true, behindSeconds: 3, message: "m", count: 2, snapshotSHA256: "h")
        alert.prev = String(repeating: "0", count: 64)
        alert.node = "node-a"
        alert.epoch = 7
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(alert)) as? [String: Any]
        let fields = Set(try #require(encoded).keys)
        let documented = try Self.documentedNames(under: "Alert JSON")
        #expect(fields.subtracting(documented).isEmpty,
                "fields missing from docs/alerts.md: \(fields.subtracting(documented).sorted())")
        #expect(documented.subtracting(fields).isEmpty,
                "docs/alerts.md documents fields an alert never has: \(documented.subtracting(fields).sorted())")
    }
}
