import Foundation
import Synchronization
import Testing
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

@Suite("credentials never leave the registry", .serialized)
struct SecretLeakTests {
    static let user = "operator"
    static let password = "p@ss:w/rd#1"

    /// The forms a password can take in output: raw, percent-encoded, base64 of user:password.
    static var forms: [String] {
        [password, password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!,
         Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    @Test("no command prints the password in any form, and camera test classifies the credentials")
    func noCommandLeaks() throws {
        let server = try RTSPTestServer(media: ["cam": "one_crossing.mp4"],
                                        auth: (method: "digest", user: Self.user, password: Self.password))
        let fixture = try RegistryFixture()
        let encoded = Self.forms[1]
        // Credentials inside the URL, percent-encoded as users paste them.
        try fixture.vigil(RegistryFixture.addArguments(id: "cam-url", url: "rtsp://\(Self.user):\(encoded)@127.0.0.1:\(server.port)/cam"))
        // Credentials from a password file.
        let passwordFile = try fixture.file("pw", Self.password + "\n")
        try fixture.vigil(RegistryFixture.addArguments(id: "cam-file", url: "rtsp://127.0.0.1:\(server.port)/cam")
                          + ["--username", Self.user, "--password-file", passwordFile])
        // A wrong password, and a failing command whose URL holds the password.
        let wrongFile = try fixture.file("wrong", "not-it\n")
        try fixture.vigil(RegistryFixture.addArguments(id: "cam-wrong", url: "rtsp://127.0.0.1:\(server.port)/cam")
                          + ["--username", Self.user, "--password-file", wrongFile])
        let failing = try fixture.vigil(RegistryFixture.addArguments(id: "cam-bad", lat: "99")
                                        + ["--url", "rtsp://\(Self.user):\(encoded)@10.0.0.1/x"])
        #expect(failing.status != 0)

        let good = try fixture.vigil(["camera", "test", "cam-url"])
        #expect(good.status == 0, "\(good.stderrText)")
        #expect(good.stdoutText == "cam-url stream: h264, 640x360, 15.00 fps\n")
        #expect(try fixture.vigil(["camera", "test", "cam-file"]).status == 0)
        let wrong = try fixture.vigil(["camera", "test", "cam-wrong"])
        #expect(wrong.status != 0)
        #expect(wrong.stderrText.hasPrefix("vigil: camera cam-wrong stream: credentials rejected by the camera"))

        for command in [["camera", "list"], ["camera", "show", "cam-url"], ["camera", "show", "cam-file"],
                        ["register", "export", "--format", "json"], ["register", "export", "--format", "csv"],
                        ["register", "export", "--format", "geojson"]] {
            #expect(try fixture.vigil(command).status == 0)
        }
        try fixture.vigil(["camera", "update", "cam-url", "--url", "rtsp://\(Self.user):\(encoded)@127.0.0.1:\(server.port)/nothing"])
        let notFound = try fixture.vigil(["camera", "test", "cam-url"])
        #expect(notFound.stderrText.contains("no stream at this address"))

        let transcript = String(decoding: fixture.transcript, as: UTF8.self)
        #expect(transcript.contains("cam-url"))
        for form in Self.forms {
            #expect(!transcript.contains(form), "output contains a form of the password: \(form)")
        }
        // The password is stored (apart), or camera test could not have passed.
        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        let camera = try #require(try registry.camera(id: "cam-file"))
        #expect(try registry.connectURLs(for: camera).credentials?.password == Self.password)
        #expect(!camera.streamURL.contains(Self.user))
    }
}

@Suite("nothing private in the deletion log or an evidence bundle")
struct RetentionLeakTests {
    @Test("the deletion log and an evidence bundle hold no credential, URL, host, model or firmware")
    func retentionFilesLeakNothing() throws {
        let user = "kmuser", password = "S3cr#t:pw/x"
        let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let fixture = try EvidenceFixture(url: "rtsp://\(user):\(encoded)@10.9.8.7:8554/main",
                                          extraCameraArguments: ["--detect-url", "rtsp://10.9.8.7:8554/sub",
                                                                 "--model", "AXIS-Q6135", "--firmware", "fw-10.12.1"])
        let bundle = fixture.registry.files.path + "/bundle"
        let export = try fixture.export(to: bundle)
        #expect(export.status == 0, "\(export.stderrText)")
        let state = StateDirectory(option: fixture.state)
        let log = try DeletionLog(directory: state)
        let pass = SnapshotStore(directory: state.file("snapshots"), maxAge: .seconds(86_400), maxBytes: 1 << 30)
            .prune(now: Date().addingTimeInterval(400 * 86_400), policy: RetentionPolicy(days: ["korenmarkt": 1]), log: log)
        try log.close()
        #expect(pass.removedFiles == 3)

        var everything = try Data(contentsOf: state.file(DeletionLog.fileName))
        for (_, data) in try EvidenceFixture.files(bundle) { everything.append(data) }
        let text = String(decoding: everything, as: UTF8.self)
        #expect(text.contains("korenmarkt") && text.contains(fixture.heldEvent))
        for secret in [password, encoded, Data("\(user):\(password)".utf8).base64EncodedString(), user, "rtsp",
                       "10.9.8.7", "8554", "/main", "/sub", "AXIS", "fw-10.12.1"] {
            #expect(!text.contains(secret), "the deletion log or the bundle contains \(secret)")
        }
    }
}

@Suite("registry under concurrent use")
struct ConcurrentRegistryTests {
    @Test("CLI processes write while another connection reads, nothing is lost")
    func concurrentWrites() throws {
        let fixture = try RegistryFixture()
        let registry = try CameraRegistry(directory: StateDirectory(option: fixture.state.path))
        let writers = 4, perWriter = 5
        let statePath = fixture.state.path
        let failures = Mutex(0)
        let done = DispatchGroup()
        // Writer processes are driven from their own threads (blocking waits stay off the test's thread).
        for writer in 0..<writers {
            DispatchQueue.global().async(group: done) {
                for index in 0..<perWriter {
                    let output = try? runVigil(RegistryFixture.addArguments(id: "w\(writer)-\(index)")
                                               + ["--state-dir", statePath])
                    if output?.status != 0 { failures.withLock { $0 += 1 } }
                }
            }
        }
        var reads = 0, seenCounts: Set<Int> = []
        while done.wait(timeout: .now() + 0.005) == .timedOut {
            seenCounts.insert(try registry.cameras().count)
            reads += 1
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(reads > 10)
        #expect(seenCounts.count > 2, "the reader saw the registry grow: \(seenCounts.sorted())")
        #expect(try registry.cameras().count == writers * perWriter)
    }
}
