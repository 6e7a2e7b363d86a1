import Foundation
import Testing
import VigilStore
import VigilTestSupport
import VigilTesting

/// A state directory with two cameras, their snapshots and a chained alert log, for the evidence commands.
final class EvidenceFixture {
    let registry: RegistryFixture
    var state: String { registry.state.path }
    var alertLog: String { registry.state.path + "/alerts.jsonl" }
    /// Every alert line written, in order.
    private(set) var lines: [(alert: Alert, line: String)] = []
    /// korenmarkt's event on 3 May (with a snapshot), station's (alerts only), korenmarkt's on 4 May.
    let heldEvent: String, stationEvent: String, laterEvent: String

    static func time(_ text: String) -> Date { AlertTime.parse(text)! }

    /// A fresh event id that encodes `time` (`AlertID.make` never goes back before an id it already made
    /// in this process, and other tests make ids for now).
    static func eventID(at time: Date) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        var millis = UInt64(time.timeIntervalSince1970 * 1000), digits: [Character] = []
        for _ in 0..<10 {
            digits.insert(alphabet[Int(millis & 31)], at: 0)
            millis >>= 5
        }
        for _ in 0..<16 { digits.append(alphabet.randomElement()!) }
        return String(digits)
    }

    init(url: String = "rtsp://10.1.2.3:554/stream1", extraCameraArguments: [String] = []) throws {
        registry = try RegistryFixture()
        let added = try registry.vigil(RegistryFixture.addArguments(id: "korenmarkt", url: url) + extraCameraArguments)
        try #require(added.status == 0, "\(added.stderrText)")
        try #require(try registry.vigil(RegistryFixture.addArguments(id: "station")).status == 0)
        let store = SnapshotStore(directory: URL(fileURLWithPath: registry.state.path + "/snapshots"),
                                  maxAge: .seconds(86_400), maxBytes: 1 << 30)
        let before = Self.time("2026-05-02T20:00:00.000Z"), start = Self.time("2026-05-03T10:00:00.000Z")
        let station = Self.time("2026-05-03T10:00:30.000Z"), later = Self.time("2026-05-04T09:00:00.000Z")
        heldEvent = Self.eventID(at: start)
        stationEvent = Self.eventID(at: station)
        laterEvent = Self.eventID(at: later)
        let earlyEvent = Self.eventID(at: before)
        var alerts: [Alert] = []
        for (camera, event, time) in [("korenmarkt", earlyEvent, before), ("korenmarkt", heldEvent, start),
                                      ("station", stationEvent, station), ("korenmarkt", laterEvent, later)] {
            let jpeg: [UInt8] = [0xFF, 0xD8] + Array(event.utf8) + [0xFF, 0xD9]
            let path = camera == "station" ? nil : try store.save(jpeg, camera: camera, event: event, at: time)
            alerts.append(Alert(kind: .motionStarted, camera: camera, time: time, event: event, zones: ["plein"]))
            alerts.append(Alert(kind: .motionEnded, camera: camera, time: time.addingTimeInterval(20), event: event,
                                snapshot: path, snapshotSHA256: path.map { _ in AlertChain.hash(jpeg) }))
        }
        alerts.append(Alert(kind: .cameraOffline, camera: "korenmarkt", time: start.addingTimeInterval(3600),
                            message: "no frame for 15 s"))
        alerts.sort { $0.time < $1.time }
        var previous = AlertChain.genesis, text = ""
        for alert in alerts {
            let line = try AlertChain.link(alert.jsonLine(), to: previous)
            previous = AlertChain.hash(line.utf8)
            lines.append((alert, line))
            text += line + "\n"
        }
        try text.write(toFile: alertLog, atomically: true, encoding: .utf8)
    }

    @discardableResult
    func vigil(_ arguments: [String]) throws -> ProcessOutput {
        try registry.vigil(arguments)
    }

    func export(to output: String, camera: String = "korenmarkt", from: String = "2026-05-03T00:00:00Z",
                to: String = "2026-05-04T00:00:00Z") throws -> ProcessOutput {
        try vigil(["evidence", "export", "--camera", camera, "--from", from, "--to", to, "--output", output,
                   "--alert-log", alertLog])
    }

    /// Every file under `directory`, by relative path.
    static func files(_ directory: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for path in try FileManager.default.subpathsOfDirectory(atPath: directory) {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[path] = FileManager.default.contents(atPath: directory + "/" + path)
            }
        }
        return files
    }
}

@Suite("evidence holds and bundles")
struct EvidenceTests {
    @Test("a retention above 90 days is refused without --legal-exception, whose text the public register shows")
    func legalException() throws {
        let fixture = try RegistryFixture()
        let refused = try fixture.vigil(RegistryFixture.addArguments(id: "depot") + ["--retention-days", "120"])
        #expect(refused.status == 1)
        #expect(refused.stderrText == "vigil: retention-days 120 is over the legal maximum of 90 days; give "
                + "--legal-exception TEXT naming the decree or decision that allows it (shown in the public register)\n")
        #expect(try fixture.vigil(["camera", "list"]).stdoutText.contains("depot") == false)
        let exception = "KB 2026-03-01, art. 4: depot zone"
        let added = try fixture.vigil(RegistryFixture.addArguments(id: "depot")
                                      + ["--retention-days", "120", "--legal-exception", exception])
        #expect(added.status == 0, "\(added.stderrText)")
        for format in ["json", "csv", "geojson"] {
            let export = try fixture.vigil(["register", "export", "--format", format])
            #expect(export.stdoutText.contains(exception), "\(format): \(export.stdoutText)")
        }
        // 90 days needs no exception; the declaration check still names a retention over the month without one.
        #expect(try fixture.vigil(RegistryFixture.addArguments(id: "plein") + ["--retention-days", "90"]).status == 0)
        let check = try fixture.vigil(["register", "check"]).stdoutText.split(separator: "\n")
        #expect(check.first { $0.hasPrefix("plein:") }?.contains("retention 90 days is over the legal month") == true)
        #expect(check.first { $0.hasPrefix("depot:") }?.contains("retention") == false)
    }

    @Test("hold, list and release an event; the register check counts each camera's holds")
    func holdListRelease() throws {
        let fixture = try EvidenceFixture()
        let held = try fixture.vigil(["evidence", "hold", fixture.heldEvent, "--reason", "PV 2026/0412"])
        #expect(held.status == 0, "\(held.stderrText)")
        #expect(held.stdoutText == "held event \(fixture.heldEvent) of camera korenmarkt until released\n")
        // An event with alerts but no snapshot is found in the alert log.
        let until = AlertTime.format(Date().addingTimeInterval(30 * 86_400)).prefix(10)
        let byLog = try fixture.vigil(["evidence", "hold", fixture.stationEvent, "--reason", "request 17",
                                       "--until", String(until), "--alert-log", fixture.alertLog])
        #expect(byLog.stdoutText == "held event \(fixture.stationEvent) of camera station until \(until)\n", "\(byLog.stderrText)")

        let list = try fixture.vigil(["evidence", "list"]).stdoutText.split(separator: "\n")
        #expect(list.count == 3 && list[1].contains(fixture.heldEvent) && list[1].contains("PV 2026/0412"))
        let json = try fixture.vigil(["evidence", "list", "--json"]).stdoutText.split(separator: "\n")
        let objects = try json.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects.map { $0["event"] as? String } == [fixture.heldEvent, fixture.stationEvent])
        #expect(objects.allSatisfy { $0["active"] as? Bool == true } && objects[1]["until"] as? String == String(until))

        let check = try fixture.vigil(["register", "check"]).stdoutText
        #expect(check.contains("(1 evidence hold)"), "\(check)")
        #expect(check.split(separator: "\n").filter { $0.hasSuffix("(1 evidence hold)") }.count == 2)

        #expect(try fixture.vigil(["evidence", "release", fixture.heldEvent]).stdoutText == "released event \(fixture.heldEvent)\n")
        let again = try fixture.vigil(["evidence", "release", fixture.heldEvent])
        #expect(again.status == 1)
        #expect(again.stderrText == "vigil: no hold on event '\(fixture.heldEvent)'; 'vigil evidence list' shows the holds\n")
        #expect(try fixture.vigil(["evidence", "list", "--json"]).stdoutText.split(separator: "\n").count == 1)
    }

    @Test("bad hold input is one line naming the thing, and nothing is held",
          arguments: [
            (["not-an-event", "--reason", "x"], "'not-an-event' is not an event id"),
            (["01KB6F4N8T2V6B1C3D5E7F9G0H", "--reason", "x"], "no event '01KB6F4N8T2V6B1C3D5E7F9G0H' among the snapshots"),
            (["EVENT", "--reason", " "], "--reason must be 1...1000 characters"),
            (["EVENT", "--reason", "x", "--until", "2026-02-30"], "--until '2026-02-30' is not a date YYYY-MM-DD"),
            (["EVENT", "--reason", "x", "--until", "2020-01-01"], "--until 2020-01-01 must be a day from "),
            (["EVENT", "--reason", "x", "--until", "2999-01-01"], "--until 2999-01-01 must be a day from "),
          ])
    func badHold(arguments: [String], message: String) throws {
        let fixture = try EvidenceFixture()
        let output = try fixture.vigil(["evidence", "hold"] + arguments.map { $0 == "EVENT" ? fixture.heldEvent : $0 }
                                       + ["--alert-log", fixture.alertLog])
        #expect(output.status == 1)
        #expect(output.stderrText.hasPrefix("vigil: " + message), "\(output.stderrText)")
        #expect(output.stderrText.split(separator: "\n").count == 1)
        #expect(try fixture.vigil(["evidence", "list"]).stdoutText.hasPrefix("no evidence holds"))
    }

    @Test("an export holds the camera's snapshots and alert lines of the period with their chain proof, the same bytes twice")
    func exportTwice() throws {
        let fixture = try EvidenceFixture()
        let first = fixture.registry.files.path + "/bundle-1", second = fixture.registry.files.path + "/bundle-2"
        let output = try fixture.export(to: first)
        #expect(output.status == 0, "\(output.stderrText)")
        #expect(output.stdoutText == "wrote evidence bundle \(first): 3 alerts, 1 snapshots of camera korenmarkt "
                + "(chain proof over 5 alert-log lines)\n")
        #expect(try fixture.export(to: second).status == 0)
        let files = try EvidenceFixture.files(first)
        #expect(files == (try EvidenceFixture.files(second)))
        #expect(Set(files.keys) == ["README.txt", "alerts.jsonl", "camera.json", "chain.jsonl", "manifest.json",
                                    "snapshots/2026-05-03/\(fixture.heldEvent).jpg"])

        // The alert lines are the log's own, byte for byte: korenmarkt's, 3 May only.
        let wanted = fixture.lines.filter {
            $0.alert.camera == "korenmarkt" && AlertTime.format($0.alert.time).hasPrefix("2026-05-03")
        }
        #expect(String(decoding: files["alerts.jsonl"]!, as: UTF8.self) == wanted.map { $0.line + "\n" }.joined())
        // The chain proof: consecutive log lines from the first to the last exported, linked by prev.
        let chain = try String(decoding: files["chain.jsonl"]!, as: UTF8.self).split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(chain.map { $0["exported"] as? Bool } == [true, true, false, false, true])
        for (index, link) in chain.enumerated().dropFirst() {
            #expect(link["prev"] as? String == chain[index - 1]["sha256"] as? String)
        }
        #expect(chain.filter { $0["exported"] as? Bool == true }.map { $0["sha256"] as? String }
                == wanted.map { AlertChain.hash($0.line.utf8) })
        // The manifest's hashes are the files' (checked with coreutils).
        let manifest = try #require(JSONSerialization.jsonObject(with: files["manifest.json"]!) as? [String: Any])
        let listed = try #require(manifest["files"] as? [[String: Any]])
        #expect(listed.count == files.count - 1)
        for file in listed {
            let path = try #require(file["path"] as? String)
            #expect(file["sha256"] as? String == (try sha256sum(first + "/" + path)), "\(path)")
        }
        #expect(manifest["from"] as? String == "2026-05-03T00:00:00.000Z" && manifest["camera"] as? String == "korenmarkt")
        let mode = try FileManager.default.attributesOfItem(atPath: first + "/manifest.json")[.posixPermissions] as? Int
        #expect(mode == 0o640)
    }

    @Test("bad export input is one line naming the thing, and writes nothing",
          arguments: [
            (["--camera", "nowhere"], "no camera 'nowhere'"),
            (["--from", "yesterday"], "--from 'yesterday' is not a time"),
            (["--to", "2026-05-02"], "--to 2026-05-02 is not after --from 2026-05-03T00:00:00Z"),
            (["--from", "1999-12-31"], "--from 1999-12-31 is outside 2000-01-01...2100-01-01"),
            (["--to", "2026-13-01"], "--to '2026-13-01' is not a time"),
          ])
    func badExport(arguments: [String], message: String) throws {
        let fixture = try EvidenceFixture()
        var options = ["camera": "korenmarkt", "from": "2026-05-03T00:00:00Z", "to": "2026-05-04T00:00:00Z"]
        for index in stride(from: 0, to: arguments.count, by: 2) { options[String(arguments[index].dropFirst(2))] = arguments[index + 1] }
        let output = fixture.registry.files.path + "/bundle"
        let result = try fixture.export(to: output, camera: options["camera"]!, from: options["from"]!, to: options["to"]!)
        #expect(result.status == 1)
        #expect(result.stderrText.hasPrefix("vigil: " + message), "\(result.stderrText)")
        #expect(result.stderrText.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test("an export never writes into a directory that is not empty")
    func exportRefusesNonEmptyOutput() throws {
        let fixture = try EvidenceFixture()
        let output = fixture.registry.files.path + "/bundle"
        #expect(try fixture.export(to: output).status == 0)
        let again = try fixture.export(to: output)
        #expect(again.status == 1)
        #expect(again.stderrText == "vigil: --output \(output) is not empty; give a new or empty directory\n")
    }
}
