import Foundation
import GRDB
import Testing
import VigilStore
import VigilTestSupport
import VigilTesting

/// The camera law's declaration fields, `vigil register check`, and OSM tags in the GeoJSON register.
@Suite("declaration-ready register")
struct DeclarationTests {
    static func today(minusDays days: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date().addingTimeInterval(-Double(days) * 86_400))
    }

    static let declaration = ["--place-type", "open", "--mount", "fixed", "--pictogram", "true",
                              "--contact", "dpo@gent.be", "--declared", today(minusDays: 30)]

    @Test("register check passes a declared camera and names what another lacks or has overdue")
    func check() throws {
        let fixture = try RegistryFixture()
        #expect(try fixture.vigil(RegistryFixture.addArguments(id: "declared") + Self.declaration).status == 0)
        let clean = try fixture.vigil(["register", "check"])
        #expect(clean.status == 0, "\(clean.stdoutText)")
        #expect(clean.stdoutText == "all 1 enabled cameras are in order\n")

        #expect(try fixture.vigil(RegistryFixture.addArguments(id: "bare", visibility: "--private")).status == 0)
        #expect(try fixture.vigil(["camera", "update", "declared", "--declared", Self.today(minusDays: 400),
                                   "--retention-days", "45"]).status == 0)
        let failing = try fixture.vigil(["register", "check"])
        #expect(failing.status == 1)
        let lines = failing.stdoutText.split(separator: "\n")
        let bare = try #require(lines.first { $0.hasPrefix("bare:") })
        for lack in ["no declaration date", "pictogram not recorded", "no place type", "no mount",
                     "no data-protection contact"] {
            #expect(bare.contains(lack), "\(bare)")
        }
        let overdue = try #require(lines.first { $0.hasPrefix("declared:") })
        #expect(overdue.contains("400 days ago: renew the declaration"), "\(overdue)")
        #expect(overdue.contains("retention 45 days is over the legal month"), "\(overdue)")
        #expect(lines.last == "2 of 2 enabled cameras need attention")
        // A disabled camera is not watched: nothing to declare for it now.
        #expect(try fixture.vigil(["camera", "disable", "bare"]).status == 0)
        let json = try fixture.vigil(["register", "check", "--json"])
        #expect(json.status == 1)
        #expect(json.stdoutText.split(separator: "\n").count == 1 && json.stdoutText.contains(#""camera":"declared""#))
    }

    @Test("bad declaration values are refused in one line naming the field, and nothing is stored")
    func badValues() throws {
        let fixture = try RegistryFixture()
        let cases: [([String], String)] = [
            (["--place-type", "street"], "place-type 'street' must be one of open, enclosed-public, enclosed-private"),
            (["--mount", "wall"], "mount 'wall' must be one of fixed, temporary, mobile"),
            (["--pictogram", "maybe"], "pictogram 'maybe' must be true or false"),
            (["--declared", "2026-02-30"], "declared '2026-02-30' is not a date YYYY-MM-DD"),
            (["--declared", "2999-01-01"], "declared 2999-01-01 is in the future"),
            (["--contact", "dpo\u{1B}[2J"], "contact contains the control character U+001B"),
        ]
        for (arguments, message) in cases {
            let output = try fixture.vigil(RegistryFixture.addArguments(id: "cam") + arguments)
            #expect(output.status != 0)
            #expect(output.stderrText.split(separator: "\n").count == 1 && output.stderrText.contains(message),
                    "\(output.stderrText)")
        }
        #expect(try fixture.vigil(["camera", "list"]).stdoutText.contains("no cameras"))
    }

    @Test("an import file carries the declaration fields into the register's JSON, CSV and GeoJSON with OSM tags")
    func importAndExport() throws {
        let fixture = try RegistryFixture()
        let csv = try fixture.file("cameras.csv", """
            id,name,url,lat,lon,municipality,operator,purpose,public,view_direction,place_type,mount,pictogram,contact,declared
            korenmarkt,Korenmarkt,rtsp://10.0.0.9/main,51.0543,3.7210,Gent,Stad Gent,public order,true,90,open,fixed,true,dpo@gent.be,\(Self.today(minusDays: 10))
            station-hall,Station hall,rtsp://10.0.0.10/main,51.03,3.71,Gent,NMBS,safety,true,,enclosed-public,temporary,false,,

            """)
        let imported = try fixture.vigil(["camera", "import", csv])
        #expect(imported.status == 0, "\(imported.stderrText)")
        let json = try #require(try JSONSerialization.jsonObject(
            with: fixture.vigil(["register", "export", "--format", "json"]).stdout) as? [[String: Any]])
        let korenmarkt = try #require(json.first { $0["id"] as? String == "korenmarkt" })
        #expect(korenmarkt["place_type"] as? String == "open")
        #expect(korenmarkt["mount"] as? String == "fixed")
        #expect(korenmarkt["pictogram"] as? Bool == true)
        #expect(korenmarkt["contact"] as? String == "dpo@gent.be")

        let geojson = try #require(try JSONSerialization.jsonObject(
            with: fixture.vigil(["register", "export", "--format", "geojson"]).stdout) as? [String: Any])
        let features = try #require(geojson["features"] as? [[String: Any]])
        let tags = features.compactMap { $0["properties"] as? [String: Any] }
        let street = try #require(tags.first { $0["id"] as? String == "korenmarkt" })
        #expect(street["man_made"] as? String == "surveillance")
        #expect(street["surveillance"] as? String == "public")
        #expect(street["surveillance:type"] as? String == "camera")
        #expect(street["camera:type"] as? String == "fixed")
        #expect(street["camera:direction"] as? Int == 90)
        let hall = try #require(tags.first { $0["id"] as? String == "station-hall" })
        #expect(hall["surveillance"] as? String == "indoor")
        #expect(hall["camera:type"] == nil && hall["camera:direction"] == nil)

        let exportedCSV = try fixture.vigil(["register", "export", "--format", "csv"]).stdoutText
        #expect(exportedCSV.hasPrefix("id,name,municipality,address,latitude,longitude,operator,purpose,legal_basis,"
                                      + "retention_days,view_direction,enabled,place_type,mount,pictogram,contact,declared,"
                                      + "legal_exception\n"))
    }

    @Test("a registry written before the declaration fields opens, keeps its cameras and gains the fields")
    func migration() throws {
        let state = try TemporaryDirectory()
        // The registry as the first schema wrote it (GRDB records the migrations it applied).
        let queue = try DatabaseQueue(path: state.url.appendingPathComponent("registry.sqlite").path)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                INSERT INTO grdb_migrations VALUES ('v1: cameras and credentials');
                CREATE TABLE camera (id TEXT PRIMARY KEY, name TEXT NOT NULL, streamURL TEXT NOT NULL, detectURL TEXT,
                  enabled BOOLEAN NOT NULL, latitude DOUBLE NOT NULL, longitude DOUBLE NOT NULL, address TEXT,
                  municipality TEXT NOT NULL, operatorName TEXT NOT NULL, purpose TEXT NOT NULL, legalBasis TEXT,
                  retentionDays INTEGER, viewDirection DOUBLE, isPublic BOOLEAN NOT NULL, model TEXT, firmware TEXT,
                  detection TEXT, createdAt DATETIME NOT NULL, updatedAt DATETIME NOT NULL);
                CREATE TABLE cameraCredential (cameraID TEXT PRIMARY KEY REFERENCES camera(id) ON DELETE CASCADE,
                  username TEXT NOT NULL, password TEXT NOT NULL);
                INSERT INTO camera VALUES ('old', 'Old', 'rtsp://10.0.0.1/s', NULL, 1, 50.0, 4.0, NULL, 'Gent', 'Stad',
                  'traffic', NULL, NULL, NULL, 1, NULL, NULL, NULL, '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000');
                """)
        }
        try queue.close()
        let update = try runVigil(["camera", "update", "old", "--declared", Self.today(minusDays: 1),
                                   "--state-dir", state.path])
        #expect(update.status == 0, "\(update.stderrText)")
        let show = try runVigil(["camera", "show", "old", "--state-dir", state.path])
        #expect(show.stdoutText.contains("name:           Old"))
        #expect(show.stdoutText.contains("declared:       \(Self.today(minusDays: 1))"))
    }
}
