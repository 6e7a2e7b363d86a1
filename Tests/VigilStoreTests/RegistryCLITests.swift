import Foundation
import Testing
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// A state directory with a camera registry, driven through the real `vigil` binary.
final class RegistryFixture {
    let state: TemporaryDirectory
    let files: TemporaryDirectory
    /// Every byte any command printed, for the secret-leak check.
    private(set) var transcript = Data()

    init() throws {
        state = try TemporaryDirectory()
        files = try TemporaryDirectory()
    }

    @discardableResult
    func vigil(_ arguments: [String]) throws -> ProcessOutput {
        let output = try runVigil(arguments + ["--state-dir", state.path])
        transcript.append(output.stdout)
        transcript.append(output.stderr)
        return output
    }

    func file(_ name: String, _ contents: String) throws -> String {
        let url = files.url.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    static func addArguments(id: String, url: String = "rtsp://10.1.2.3:554/stream1", visibility: String = "--public",
                             lat: String = "50.8467", lon: String = "4.3525") -> [String] {
        ["camera", "add", id, "--url", url, "--name", "Camera \(id)", "--lat=\(lat)", "--lon=\(lon)",
         "--municipality", "Brussel", "--operator", "Stad Brussel", "--purpose", "public order", visibility]
    }
}

@Suite("camera registry through the CLI")
struct RegistryCLITests {
    @Test("add, update, list, show, disable, remove round trip on a real SQLite file")
    func roundTrip() throws {
        let fixture = try RegistryFixture()
        #expect(try fixture.vigil(RegistryFixture.addArguments(id: "grote-markt-1")).status == 0)
        #expect(try fixture.vigil(RegistryFixture.addArguments(id: "station", visibility: "--private")).status == 0)
        let update = try fixture.vigil(["camera", "update", "station", "--name", "Centraal Station",
                                        "--retention-days", "30", "--view-direction", "270"])
        #expect(update.status == 0, "\(update.stderrText)")
        #expect(try fixture.vigil(["camera", "disable", "grote-markt-1"]).status == 0)

        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        let cameras = try registry.cameras()
        #expect(cameras.map(\.id) == ["grote-markt-1", "station"])
        #expect(cameras[0].enabled == false)
        #expect(cameras[1].name == "Centraal Station" && cameras[1].retentionDays == 30)
        #expect(cameras[1].viewDirection == 270 && cameras[1].isPublic == false)
        #expect(cameras[1].createdAt <= cameras[1].updatedAt)

        let list = try fixture.vigil(["camera", "list"]).stdoutText
        #expect(list.contains("grote-markt-1") && list.contains("Centraal Station"))
        let show = try fixture.vigil(["camera", "show", "station"]).stdoutText
        #expect(show.contains("retention-days: 30"))

        #expect(try fixture.vigil(["camera", "remove", "station"]).status == 0)
        #expect(try registry.cameras().map(\.id) == ["grote-markt-1"])
        let missing = try fixture.vigil(["camera", "show", "station"])
        #expect(missing.status != 0)
        #expect(missing.stderrText == "vigil: no camera 'station'; 'vigil camera list' shows the registered ones\n")
    }

    @Test("the database file is created 0600 in a 0700 state directory")
    func permissions() throws {
        let fixture = try RegistryFixture()
        let nested = fixture.state.url.appendingPathComponent("new/state").path
        let output = try runVigil(RegistryFixture.addArguments(id: "a") + ["--state-dir", nested])
        #expect(output.status == 0)
        let directoryMode = try FileManager.default.attributesOfItem(atPath: nested)[.posixPermissions] as? Int
        let fileMode = try FileManager.default.attributesOfItem(atPath: nested + "/registry.sqlite")[.posixPermissions] as? Int
        #expect(directoryMode == 0o700)
        #expect(fileMode == 0o600)
    }

    @Test("bad input is one line naming the field and value, exits non-zero, writes nothing",
          arguments: [
            (["--lat=95"], "lat '95' is not a number in -90...90"),
            (["--lon=-181"], "lon '-181' is not a number in -180...180"),
            (["--url", "http://cam/x"], "url has unsupported scheme 'http'"),
            (["--url", "rtsp://cam:99999/x"], "url has an invalid port '99999'"),
            (["--username", "u", "--password-file", "/nonexistent/pw"], "cannot read password file /nonexistent/pw"),
          ])
    func badInput(extra: [String], message: String) throws {
        let fixture = try RegistryFixture()
        let output = try fixture.vigil(RegistryFixture.addArguments(id: "cam") + extra)
        #expect(output.status != 0)
        #expect(output.stderrText.split(separator: "\n").count == 1)
        #expect(output.stderrText.contains(message), "\(output.stderrText)")
        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        #expect(try registry.cameras().isEmpty)
    }

    @Test("a duplicate id is refused and the first camera is kept")
    func duplicateID() throws {
        let fixture = try RegistryFixture()
        try fixture.vigil(RegistryFixture.addArguments(id: "cam"))
        let output = try fixture.vigil(RegistryFixture.addArguments(id: "cam", lat: "10"))
        #expect(output.status != 0)
        #expect(output.stderrText.contains("camera 'cam' already exists"))
        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        #expect(try registry.camera(id: "cam")?.latitude == 50.8467)
    }

    @Test("per-camera detection overrides, masks and zones are validated and stored with the camera")
    func detectionOverrides() throws {
        let fixture = try RegistryFixture()
        let good = try fixture.file("detection.yaml", """
            min_area: 0.001
            masks: [[[0, 0], [200, 0], [200, 80], [0, 80]]]
            zones:
              - name: crossing
                polygon: [[100, 200], [540, 200], [540, 360], [100, 360]]
            """)
        let added = try fixture.vigil(RegistryFixture.addArguments(id: "cam") + ["--detection-file", good])
        #expect(added.status == 0, "\(added.stderrText)")
        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        #expect(try registry.camera(id: "cam")?.detection?.contains("crossing") == true)

        let bad = try fixture.file("bad.yaml", "min_aera: 0.001\n")
        let refused = try fixture.vigil(["camera", "update", "cam", "--detection-file", bad])
        #expect(refused.status != 0)
        #expect(refused.stderrText.contains("unknown key 'detection.min_aera'"), "\(refused.stderrText)")
        #expect(try registry.camera(id: "cam")?.detection?.contains("crossing") == true)
    }

    @Test("a slug id is required")
    func slugID() throws {
        let fixture = try RegistryFixture()
        let output = try fixture.vigil(RegistryFixture.addArguments(id: "Grote Markt"))
        #expect(output.status != 0)
        #expect(output.stderrText.contains("id 'Grote Markt' must be a slug"))
    }
}

@Suite("camera import")
struct CameraImportTests {
    static let header = "id,name,url,lat,lon,municipality,operator,purpose,public\n"

    static func row(_ index: Int, lat: String = "51.05") -> String {
        "cam-\(index),Camera \(index),rtsp://10.0.0.\(index)/s,\(lat),3.72,Gent,Stad Gent,traffic,true\n"
    }

    @Test("a CSV file imports every camera")
    func csvImports() throws {
        let fixture = try RegistryFixture()
        let path = try fixture.file("cameras.csv", Self.header + (1...8).map { Self.row($0) }.joined())
        let output = try fixture.vigil(["camera", "import", path])
        #expect(output.status == 0, "\(output.stderrText)")
        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        #expect(try registry.cameras().count == 8)
    }

    @Test("an error on line 7 names the line and field and writes nothing")
    func errorOnLineSevenWritesNothing() throws {
        let fixture = try RegistryFixture()
        // Line 1 is the header; rows 1-5 are lines 2-6; line 7 is row 6.
        let rows = (1...5).map { Self.row($0) }.joined() + Self.row(6, lat: "123") + Self.row(7)
        let path = try fixture.file("cameras.csv", Self.header + rows)
        let output = try fixture.vigil(["camera", "import", path])
        #expect(output.status != 0)
        #expect(output.stderrText == "vigil: cameras.csv line 7: lat '123' is not a number in -90...90\n")
        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        #expect(try registry.cameras().isEmpty)
    }

    @Test("an unknown field is an error naming it")
    func unknownField() throws {
        let fixture = try RegistryFixture()
        let path = try fixture.file("cameras.csv", "id,name,colour\ncam-1,One,red\n")
        let output = try fixture.vigil(["camera", "import", path])
        #expect(output.status != 0)
        #expect(output.stderrText.hasPrefix("vigil: cameras.csv line 2: unknown field 'colour'"))
    }

    @Test("a YAML file imports, and its errors name the line")
    func yamlImports() throws {
        let fixture = try RegistryFixture()
        let good = """
            cameras:
              - id: korenmarkt-1
                name: Korenmarkt
                url: rtsp://10.0.0.9/main
                detect_url: rtsp://10.0.0.9/sub
                lat: 51.0543
                lon: 3.7210
                municipality: Gent
                operator: Stad Gent
                purpose: public order
                public: true
            """
        #expect(try fixture.vigil(["camera", "import", try fixture.file("good.yaml", good)]).status == 0)
        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        #expect(try registry.camera(id: "korenmarkt-1")?.detectURL == "rtsp://10.0.0.9/sub")
        let bad = good.replacingOccurrences(of: "korenmarkt-1", with: "korenmarkt-2")
            .replacingOccurrences(of: "lon: 3.7210", with: "lon: 300")
        let output = try fixture.vigil(["camera", "import", try fixture.file("bad.yaml", bad)])
        #expect(output.status != 0)
        #expect(output.stderrText == "vigil: bad.yaml line 7: lon '300' is not a number in -180...180\n")
    }
}

@Suite("public register export")
struct RegisterExportTests {
    /// A registry with a public camera (with credentials and private fields) and a private one.
    static func populated() throws -> RegistryFixture {
        let fixture = try RegistryFixture()
        let password = try fixture.file("pw", "s3cret-pass\n")
        try fixture.vigil(RegistryFixture.addArguments(id: "b-public", url: "rtsp://10.9.8.7:554/live/main")
                          + ["--username", "admin", "--password-file", password, "--model", "AXIS-Q1785",
                             "--firmware", "10.12.1", "--address", "Grote Markt 1, Brussel", "--legal-basis",
                             "GDPR art. 6(1)(e)", "--retention-days", "30", "--view-direction", "90"])
        try fixture.vigil(RegistryFixture.addArguments(id: "a-public", lat: "51.2194", lon: "4.4025"))
        try fixture.vigil(RegistryFixture.addArguments(id: "c-private", visibility: "--private"))
        return fixture
    }

    static let forbidden = ["10.9.8.7", "554", "/live/main", "rtsp", "admin", "s3cret", "AXIS", "10.12.1", "c-private"]

    @Test("JSON: only public cameras, only public fields, ordered by id")
    func json() throws {
        let fixture = try Self.populated()
        let output = try fixture.vigil(["register", "export", "--format", "json"])
        #expect(output.status == 0)
        let objects = try #require(try JSONSerialization.jsonObject(with: output.stdout) as? [[String: Any]])
        #expect(objects.map { $0["id"] as? String } == ["a-public", "b-public"])
        let expectedKeys: Set = ["id", "name", "municipality", "address", "latitude", "longitude", "operator", "purpose",
                                 "legal_basis", "retention_days", "view_direction", "enabled", "place_type", "mount",
                                 "pictogram", "contact", "declared", "legal_exception"]
        #expect(objects.allSatisfy { Set($0.keys) == expectedKeys })
        #expect(objects[1]["retention_days"] as? Int == 30)
        for word in Self.forbidden { #expect(!output.stdoutText.contains(word), "leaked \(word)") }
    }

    @Test("CSV: parsed by a real CSV reader, same rows and columns")
    func csv() throws {
        let fixture = try Self.populated()
        let path = fixture.files.url.appendingPathComponent("register.csv").path
        #expect(try fixture.vigil(["register", "export", "--format", "csv", "--output", path]).status == 0)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let rows = parseCSV(text)
        #expect(rows.first == ["id", "name", "municipality", "address", "latitude", "longitude", "operator", "purpose",
                               "legal_basis", "retention_days", "view_direction", "enabled", "place_type", "mount",
                               "pictogram", "contact", "declared", "legal_exception"])
        #expect(rows.dropFirst().map { $0[0] } == ["a-public", "b-public"])
        #expect(rows[2][3] == "Grote Markt 1, Brussel")
        for word in Self.forbidden { #expect(!text.contains(word), "leaked \(word)") }
    }

    @Test("GeoJSON: an RFC 7946 FeatureCollection of Points with [lon, lat]")
    func geojson() throws {
        let fixture = try Self.populated()
        let output = try fixture.vigil(["register", "export", "--format", "geojson"])
        let root = try #require(try JSONSerialization.jsonObject(with: output.stdout) as? [String: Any])
        #expect(root["type"] as? String == "FeatureCollection")
        let features = try #require(root["features"] as? [[String: Any]])
        #expect(features.count == 2)
        for feature in features {
            #expect(feature["type"] as? String == "Feature")
            let geometry = try #require(feature["geometry"] as? [String: Any])
            #expect(geometry["type"] as? String == "Point")
            let coordinates = try #require(geometry["coordinates"] as? [Double])
            let properties = try #require(feature["properties"] as? [String: Any])
            #expect(coordinates == [properties["longitude"] as? Double, properties["latitude"] as? Double])
        }
        #expect((features[0]["geometry"] as? [String: Any])?["coordinates"] as? [Double] == [4.4025, 51.2194])
        for word in Self.forbidden { #expect(!output.stdoutText.contains(word), "leaked \(word)") }
    }

    /// RFC 4180 reading with quotes and embedded commas, enough to check the export independently.
    func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            if quoted {
                if character == "\"" {
                    if characters.first == "\"" { field.append("\""); characters.removeFirst() } else { quoted = false }
                } else { field.append(character) }
            } else if character == "\"" { quoted = true
            } else if character == "," { row.append(field); field = ""
            } else if character == "\n" || character == "\r\n" {
                row.append(field); rows.append(row); row = []; field = ""
            } else { field.append(character) }
        }
        return rows.filter { !($0.count == 1 && $0[0].isEmpty) }
    }
}
