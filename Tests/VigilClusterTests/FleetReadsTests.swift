import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// A fleet node reads the cluster's registry, not its state directory's: its HTTP public register and
/// camera API, and its retention pass.
@Suite("Fleet: a node's reads of the registry", .serialized)
struct FleetReadsTests {
    @Test("a fleet node's HTTP register and camera API and its retention pass read the cluster registry, never a local one")
    func nodeReadsTheClusterRegistry() async throws {
        let fixture = try ClusterCLIFixture()
        let state = try TemporaryDirectory()
        let passwordFile = try fixture.file("camera-password", ClusterCLITests.password)
        func vigil(_ arguments: [String]) throws {
            let output = try fixture.vigil(arguments, state: state)
            #expect(output.status == 0, "vigil \(arguments.joined(separator: " ")): \(output.stderrText)")
        }
        // No stream is needed: the node leases the cameras and retries them in vain, which changes nothing here.
        try vigil(ClusterCLITests.addArguments("korenmarkt", visibility: "--public") + ["--retention-days", "7"])
        try vigil(ClusterCLITests.addArguments("depot", visibility: "--private")
                  + ["--username", "viewer", "--password-file", passwordFile])

        // A snapshot 10 days old: past korenmarkt's 7 days in the cluster, within the 30-day default
        // that a camera missing from the registry (as in an unused local one) falls back to.
        let tenDaysAgo = Date().addingTimeInterval(-10 * 86_400)
        let snapshot = try SnapshotStore(directory: StateDirectory(option: state.path).file("snapshots"), maxAge: .seconds(30 * 86_400),
                                         maxBytes: 1 << 30)
            .save([0xFF, 0xD8, 0x01], camera: "korenmarkt", event: AlertID.make(at: tenDaysAgo), at: tenDaysAgo)
        try FileManager.default.setAttributes([.modificationDate: tenDaysAgo], ofItemAtPath: snapshot)

        let config = try String(contentsOfFile: fixture.config, encoding: .utf8)
        try (config + "http:\n  listen: 127.0.0.1:0\n").write(toFile: fixture.config, atomically: true, encoding: .utf8)
        /// Starts `vigil run` and waits for its HTTP port.
        func startNode() async throws -> (DaemonProcess, Int) {
            let node = try DaemonProcess(state: state.path, config: fixture.config)
            let prefix = "http: serving on http://127.0.0.1:"
            #expect(await eventually(within: 30) { node.log.contains(prefix) || !node.isRunning })
            let line = try #require(node.log.components(separatedBy: "\n").first { $0.contains(prefix) }, "\(node.log)")
            return (node, try #require(Int(line.components(separatedBy: prefix)[1].prefix { $0.isNumber })))
        }
        var (node, port) = try await startNode()
        func get(_ path: String) async throws -> (status: Int, body: String) {
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }
        func cameraIDs() async throws -> [String] {
            let body = try await get("/api/v1/cameras").body
            let cameras = (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["cameras"] as? [[String: Any]]
            return (cameras ?? []).compactMap { $0["id"] as? String }
        }

        var transcript = ""
        let register = try await get("/register.json")
        transcript += register.body
        #expect(register.status == 200 && register.body.contains("korenmarkt") && !register.body.contains("depot"), "\(register)")
        #expect(try await cameraIDs() == ["depot", "korenmarkt"])

        // A camera another command adds to the cluster appears at once: the node reads the database.
        try vigil(ClusterCLITests.addArguments("station", visibility: "--public"))
        #expect(try await cameraIDs() == ["depot", "korenmarkt", "station"])
        let page = try await get("/register")
        transcript += page.body + (try await get("/api/v1/cameras").body)
        #expect(page.status == 200 && page.body.contains("station") && page.body.contains("korenmarkt"))

        // The retention pass at start used the cluster's 7 days for korenmarkt.
        #expect(await eventually(within: 10) { !FileManager.default.fileExists(atPath: snapshot) }, "\(node.log.suffix(2000))")
        let deletions = try String(contentsOfFile: state.path + "/" + DeletionLog.fileName, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(Deletion.self, from: Data($0.utf8)) }
        #expect(deletions.map { "\($0.camera) \($0.reason)" } == ["korenmarkt retention 7 days"])

        let stop = await node.terminate(timeout: 20)
        #expect(stop?.status == 0, "\(node.log.suffix(2000))")
        #expect(!FileManager.default.fileExists(atPath: state.path + "/" + CameraRegistry.fileName),
                "a fleet node opened the state directory's SQLite registry")
        #expect(try fixture.sql("SELECT count(*) FROM leases WHERE node IS NOT NULL") == "0", "the node left the fleet on SIGTERM")
        for secret in [ClusterCLITests.password, "viewer", "rtsp://"] {
            #expect(!transcript.contains(secret), "the HTTP surface showed \(secret)")
        }
        #expect(!node.log.contains(ClusterCLITests.password), "the node logged the camera password")

        // The database down: the register answers 503 within the HTTP surface's deadline (not after the
        // pool's minute of reconnecting), then 200 again once it is back.
        (node, port) = try await startNode()
        #expect(try await get("/register.json").status == 200)
        try fixture.server.stop()
        let clock = ContinuousClock()
        let asked = clock.now
        let down = try await get("/register.json")
        let waited = clock.now - asked
        print("the public register with the database down: HTTP \(down.status) after \(waited)")
        #expect(down.status == 503 && waited < .seconds(8), "\(down) after \(waited)")
        try fixture.server.start()
        #expect(await eventually(within: 30, every: .milliseconds(200)) { (try? await get("/register.json").status) == 200 }, "\(node.log.suffix(2000))")
        // Killed, not stopped: after a database restart the fleet reporter's graceful stop can hang
        // (ReporterLease; reported), which is not what this test is about.
        node.kill()
    }
}
