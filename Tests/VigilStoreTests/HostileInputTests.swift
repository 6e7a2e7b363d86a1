import Foundation
import Testing
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// Hostile and careless input to the registry commands (issue 12), through the real `vigil` binary.
@Suite("registry input from a bad day")
struct HostileRegistryInputTests {
    @Test("a URL whose authority cannot be split is refused without quoting any of it, and nothing is stored",
          arguments: [
            ("rtsp://admin:4711/9876@10.0.0.5/stream1", ["4711", "9876"]),
            ("rtsp://admin:Sup3r/S3cret@cam.local/stream1", ["Sup3r", "S3cret"]),
            ("rtsp://admin:pa#ss99@cam.local/stream1", ["pa#ss99", "ss99"]),
            ("rtsp://admin:pa?ss99@cam.local/stream1", ["pa?ss99", "ss99"]),
            ("rtsp://admin:Sup3rS3cret/stream1", ["Sup3rS3cret"]),
            ("rtsp://[::1/x", []),
          ])
    func ambiguousAuthority(url: String, secrets: [String]) throws {
        let fixture = try RegistryFixture()
        let output = try fixture.vigil(RegistryFixture.addArguments(id: "cam", url: url))
        #expect(output.status == 1)
        #expect(output.stderrText.split(separator: "\n").count == 1, "\(output.stderrText)")
        #expect(output.stderrText.hasPrefix("vigil: url "), "\(output.stderrText)")
        for secret in secrets + ["admin"] { #expect(!output.stderrText.contains(secret), "\(output.stderrText)") }
        let list = try fixture.vigil(["camera", "list"])
        #expect(list.stdoutText.hasPrefix("no cameras"))
    }

    @Test("a record stored before the check, with a password in its stream URL, is shown masked")
    func oldRecordMasked() throws {
        let fixture = try RegistryFixture()
        try fixture.vigil(RegistryFixture.addArguments(id: "cam"))
        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        var camera = try #require(try registry.camera(id: "cam"))
        camera.streamURL = "rtsp://admin:4711/9876@10.0.0.5/stream1"
        camera.detectURL = "rtsp://admin:Sup3r/S3cret@10.0.0.5/stream2"
        try registry.update(camera)
        for command in [["camera", "list"], ["camera", "show", "cam"]] {
            let output = try fixture.vigil(command).stdoutText
            #expect(output.contains("rtsp://***@10.0.0.5/stream1"), "\(output)")
            for secret in ["4711", "9876", "Sup3r", "S3cret", "admin"] { #expect(!output.contains(secret), "\(output)") }
        }
    }

    @Test("a percent-encoded password with / # ? @ is stored apart and never printed")
    func percentEncodedPassword() throws {
        let fixture = try RegistryFixture()
        let added = try fixture.vigil(RegistryFixture.addArguments(
            id: "cam", url: "rtsp://admin:Sup3r%2FS3cret%23%3F@cam.local:554/stream1"))
        #expect(added.status == 0, "\(added.stderrText)")
        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        let camera = try #require(try registry.camera(id: "cam"))
        #expect(camera.streamURL == "rtsp://cam.local:554/stream1")
        #expect(try registry.connectURLs(for: camera).credentials?.password == "Sup3r/S3cret#?")
        let shown = try fixture.vigil(["camera", "show", "cam"]).stdoutText + fixture.vigil(["camera", "list"]).stdoutText
        #expect(!shown.contains("Sup3r") && !shown.contains("S3cret"), "\(shown)")
    }

    @Test("numbers: negative values after the flag, decimal notation only, whole days",
          arguments: [
            (["--lon", "-73.9"], nil),
            (["--lat", "-33.86", "--lon", "151.2"], nil),
            (["--lon", "0x10"], "lon '0x10' is not a number in -180...180"),
            (["--lon", "inf"], "lon 'inf' is not a number in -180...180"),
            (["--retention-days", "1.9"], "retention-days '1.9' is not a whole number in 1...36500"),
            (["--retention-days", "99999999999999999999"], "retention-days '99999999999999999999' is not a whole number in 1...36500"),
          ] as [([String], String?)])
    func numbers(extra: [String], problem: String?) throws {
        let fixture = try RegistryFixture()
        let base = RegistryFixture.addArguments(id: "cam").filter { !$0.hasPrefix("--lat=") && !$0.hasPrefix("--lon=") }
        let given = Set(extra)
        let output = try fixture.vigil(base + (given.contains("--lat") ? [] : ["--lat", "50.8"])
                                       + (given.contains("--lon") ? [] : ["--lon", "4.35"]) + extra)
        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        if let problem {
            #expect(output.status == 1)
            #expect(output.stderrText == "vigil: \(problem)\n", "\(output.stderrText)")
            #expect(try registry.cameras().isEmpty)
        } else {
            #expect(output.status == 0, "\(output.stderrText)")
            let camera = try #require(try registry.camera(id: "cam"))
            #expect(camera.longitude == Double(extra.last ?? ""))
        }
    }

    @Test("control characters are refused on input and escaped on output")
    func controlCharacters() throws {
        let fixture = try RegistryFixture()
        let refused = try fixture.vigil(RegistryFixture.addArguments(id: "cam") + ["--name", "Markt\n\u{1B}[2J"])
        #expect(refused.status == 1)
        #expect(refused.stderrText == "vigil: name contains the control character U+000A; remove it\n")

        // A record written before the check (or by hand) is shown escaped, one camera per line.
        try fixture.vigil(RegistryFixture.addArguments(id: "cam"))
        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        var camera = try #require(try registry.camera(id: "cam"))
        camera.name = "Markt\nFAKE  yes\u{1B}[31m\u{202E}"
        try registry.update(camera)
        for command in [["camera", "list"], ["camera", "show", "cam"]] {
            let output = try fixture.vigil(command)
            #expect(output.status == 0)
            #expect(!output.stdoutText.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
            #expect(output.stdoutText.contains(#"Markt\nFAKE  yes\u{1B}[31m\u{202E}"#), "\(output.stdoutText)")
            #expect(!output.stdoutText.split(separator: "\n").contains { $0.hasPrefix("FAKE") })
        }
    }

    @Test("a 100,000-character camera id is refused in milliseconds, not minutes")
    func hugeID() throws {
        let fixture = try RegistryFixture()
        let id = String(repeating: "a", count: 100_000)
        let start = Date()
        let output = try fixture.vigil(["camera", "show", id])
        #expect(output.status == 1)
        #expect(Date().timeIntervalSince(start) < 5, "took \(Date().timeIntervalSince(start)) s")
    }

    @Test("CSV export: formula text is made inert, numbers stay numbers")
    func csvInjection() throws {
        let fixture = try RegistryFixture()
        try fixture.vigil(RegistryFixture.addArguments(id: "cam", lon: "-73.9")
                          + ["--name", "=cmd|' /C calc'!A0", "--address", "@SUM(1+1)", "--legal-basis=-2+3",
                             "--purpose", "+public order"])
        let output = try fixture.vigil(["register", "export", "--format", "csv"])
        let rows = RegisterExportTests().parseCSV(output.stdoutText)
        let header = try #require(rows.first), row = try #require(rows.last)
        func cell(_ name: String) -> String? { header.firstIndex(of: name).map { row[$0] } }
        #expect(cell("name") == "'=cmd|' /C calc'!A0")
        #expect(cell("address") == "'@SUM(1+1)")
        #expect(cell("legal_basis") == "'-2+3")
        #expect(cell("purpose") == "'+public order")
        #expect(cell("longitude") == "-73.9")
        // JSON keeps the text as it is: only spreadsheets run formulas.
        let json = try fixture.vigil(["register", "export", "--format", "json"]).stdoutText
        #expect(json.contains("\"name\" : \"=cmd|' /C calc'!A0\""), "\(json)")
    }
}

@Suite("camera import from a bad day")
struct HostileImportTests {
    static let header = "id,name,url,lat,lon,municipality,operator,purpose,public\n"

    func importing(_ name: String, _ contents: String) throws -> (ProcessOutput, RegistryFixture) {
        let fixture = try RegistryFixture()
        return (try fixture.vigil(["camera", "import", try fixture.file(name, contents)]), fixture)
    }

    @Test("a header naming a field twice is refused")
    func duplicateHeader() throws {
        let (output, _) = try importing("cameras.csv", "id,name,url,lat,lon,municipality,operator,purpose,public,Name\n"
                                        + "a,A,rtsp://h/x,50,4,M,O,P,true,B\n")
        #expect(output.status == 1)
        #expect(output.stderrText == "vigil: cameras.csv line 1: the header names field 'Name' twice\n")
    }

    @Test("line numbers count the lines of quoted fields that span several")
    func multiLineField() throws {
        let csv = "id,address,name,url,lat,lon,municipality,operator,purpose,public\n"
            + "a,\"Grote Markt 1\n1000\r\nBrussel\",A,rtsp://h/a,50,4,M,O,P,true\n\n"
            + "b,,B,rtsp://h/b,95,4,M,O,P,true\n"
        let (output, _) = try importing("cameras.csv", csv)
        #expect(output.stderrText == "vigil: cameras.csv line 6: lat '95' is not a number in -90...90\n",
                "\(output.stderrText)")
    }

    @Test("a YAML null is no value: a required field left null is missing, not the text '~'")
    func yamlNull() throws {
        let yaml = """
            - id: a
              name: ~
              url: rtsp://h/a
              lat: 50
              lon: 4
              municipality: M
              operator: O
              purpose: P
              public: true
            """
        let (output, _) = try importing("cameras.yaml", yaml)
        #expect(output.status == 1)
        #expect(output.stderrText == "vigil: cameras.yaml line 2: --name is required\n", "\(output.stderrText)")
        let (quoted, fixture) = try importing("cameras.yaml", yaml.replacingOccurrences(of: "name: ~", with: "name: '~'"))
        #expect(quoted.status == 0, "\(quoted.stderrText)")
        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        #expect(try registry.camera(id: "a")?.name == "~")
    }

    @Test("YAML errors are one short line, never the file echoed back, even for a deep or huge file",
          arguments: [
            "- id: a\n  name: [unclosed\n  url: rtsp://h/a\n",
            "- id: " + String(repeating: "[", count: 50_000) + "\n",
            "- id: a\n" + String(repeating: "  name: x\n", count: 5_000) + "  : : :\n",
          ])
    func yamlErrorsOnOneLine(yaml: String) throws {
        let (output, _) = try importing("cameras.yaml", yaml)
        #expect(output.status == 1)
        #expect(output.stderrText.hasPrefix("vigil: cameras.yaml "), "\(output.stderrText.prefix(300))")
        #expect(output.stderrText.split(separator: "\n").count == 1, "\(output.stderrText.prefix(600))")
        #expect(output.stderrText.utf8.count < 400, "\(output.stderrText.prefix(600))")
    }

    @Test("a directory or a binary file given as the import file is named as such")
    func notAnImportFile() throws {
        let fixture = try RegistryFixture()
        let directory = fixture.files.url.appendingPathComponent("cams.csv").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let asDirectory = try fixture.vigil(["camera", "import", directory])
        #expect(asDirectory.stderrText == "vigil: import file \(directory) is a directory; pass a file\n")
        let binary = fixture.files.url.appendingPathComponent("cams.yaml")
        try Data([0x7F, 0x45, 0x4C, 0x46, 0, 0, 0xFF, 0xFE]).write(to: binary)
        let asBinary = try fixture.vigil(["camera", "import", binary.path])
        #expect(asBinary.stderrText
                == "vigil: import file \(binary.path) is not UTF-8 text (binary data?); pass a text file\n")
    }
}

@Suite("state directories from a bad day")
struct HostileStateDirectoryTests {
    @Test("a state directory under a file, or a dangling symlink, is one line naming it")
    func unusableStateDirectory() throws {
        let files = try TemporaryDirectory()
        let file = files.url.appendingPathComponent("notes.txt").path
        try "notes".write(toFile: file, atomically: true, encoding: .utf8)
        let underFile = try runVigil(["camera", "list", "--state-dir", file + "/state"])
        #expect(underFile.status == 1)
        #expect(underFile.stderrText == "vigil: cannot create state directory \(file)/state: \(file) is a file, "
                + "not a directory; pass --state-dir DIR\n")
        let link = files.url.appendingPathComponent("state").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: files.path + "/gone")
        let dangling = try runVigil(["camera", "list", "--state-dir", link])
        #expect(dangling.status == 1)
        #expect(dangling.stderrText == "vigil: state directory \(link) is a symlink to \(files.path)/gone, which does "
                + "not exist; create it or pass --state-dir DIR\n")
    }

    @Test("read-only commands work on a state directory the user can read but not write",
          .enabled(if: getuid() == 0, "needs root to run vigil as another user"))
    func readOnlyStateDirectory() throws {
        let fixture = try RegistryFixture()
        try fixture.vigil(RegistryFixture.addArguments(id: "cam", lon: "-73.9"))
        let alert = #"{"camera":"cam","id":"a1","kind":"camera_offline","time":"2026-12-05T12:00:00.000Z"}"#
        try (alert + "\n").write(toFile: fixture.state.path + "/alerts.jsonl", atomically: true, encoding: .utf8)
        // The daemon's state, readable by an operator who cannot write it; the test's temporary
        // directories are traversable.
        for file in ["registry.sqlite", "alerts.jsonl"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: fixture.state.path + "/" + file)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fixture.state.path)
        let before = try FileManager.default.contentsOfDirectory(atPath: fixture.state.path).sorted()
        func asNobody(_ arguments: [String]) throws -> ProcessOutput {
            try runProcess("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", vigilExecutable]
                           + arguments + ["--state-dir", fixture.state.path])
        }
        let list = try asNobody(["camera", "list"])
        #expect(list.status == 0, "\(list.stderrText)")
        #expect(list.stdoutText.contains("cam "))
        let show = try asNobody(["camera", "show", "cam"])
        #expect(show.stdoutText.contains("-73.9"), "\(show.stderrText)")
        let export = try asNobody(["register", "export", "--format", "csv"])
        #expect(export.stdoutText.contains("cam,Camera cam"), "\(export.stderrText)")
        let tail = try asNobody(["alerts", "tail"])
        #expect(tail.status == 0, "\(tail.stderrText)")
        #expect(tail.stdoutText.contains("cam"), "\(tail.stdoutText)")
        let add = try asNobody(RegistryFixture.addArguments(id: "other"))
        #expect(add.status == 1)
        #expect(add.stderrText.contains("is not writable"), "\(add.stderrText)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.state.path).sorted() == before)
    }
}
