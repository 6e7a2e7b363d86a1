import Foundation
import Testing
import VigilStore

/// A storage backend under test: how to make fresh, empty stores of it. The SQLite backend is
/// defined in `VigilStoreTests`; a second backend (PostgreSQL) adds its own and passes it to the
/// same ``StoreContract`` checks (`@Test(arguments: [sqlite, postgres])`).
public struct StoreBackend: Sendable, CustomStringConvertible {
    /// An alert store opened for both producing and delivering, as the daemon opens it.
    public typealias Queue = any AlertProducer & AlertDeliveryStore

    public let description: String
    /// A new, empty registry.
    public let makeRegistry: @Sendable () async throws -> any CameraStore
    /// A new, empty alert store, with the handle ``reopen`` takes.
    public let makeQueue: @Sendable () async throws -> (queue: Queue, handle: String)
    /// Closes the store `handle` names (the queue returned with it must not be used again) and opens
    /// it anew, as a restarted process would.
    public let reopen: @Sendable (_ queue: Queue, _ handle: String) async throws -> Queue

    public init(_ name: String, makeRegistry: @escaping @Sendable () async throws -> any CameraStore,
                makeQueue: @escaping @Sendable () async throws -> (queue: Queue, handle: String),
                reopen: @escaping @Sendable (_ queue: Queue, _ handle: String) async throws -> Queue) {
        description = name
        self.makeRegistry = makeRegistry
        self.makeQueue = makeQueue
        self.reopen = reopen
    }
}

/// The registry and queue contract every backend passes: each check makes its own stores with the
/// backend's factories and records failures with `#expect`.
public enum StoreContract {
    /// One check of the contract, named for the test report.
    public struct Check: Sendable, CustomStringConvertible {
        public let description: String
        public let run: @Sendable (StoreBackend) async throws -> Void
    }

    /// Every check: pass them with the backends to a parameterised test.
    public static let checks: [Check] = registryChecks + queueChecks

    /// The checks of the registry (``CameraStore``) alone, for a backend whose queue is tested apart.
    public static let registryChecks: [Check] = [
        Check(description: "registry: cameras are added, listed, updated and removed", run: registryEdits),
        Check(description: "registry: records never carry credentials; only the watch list joins them",
              run: registryCredentials),
        Check(description: "registry: the generation moves with every change and only then", run: registryGeneration),
    ]

    /// The checks of the alert store (``AlertProducer`` and ``AlertDeliveryStore``).
    public static let queueChecks: [Check] = [
        Check(description: "queue: alerts are read in order per sink, acknowledged, dead-lettered and counted",
              run: queueDeliveryAndAcknowledgement),
        Check(description: "queue: a commit wakes a waiting sink", run: queueCommitWakesSinks),
        Check(description: "queue: with concurrent producers the delivery cursor never skips a late commit",
              run: { try await queueCursorNeverSkipsALateCommit($0) }),
        Check(description: "queue: reopening keeps undelivered alerts and each sink's position", run: queueSurvivesReopening),
    ]

    // MARK: Registry

    /// A camera record as the contract tests use it.
    public static func camera(_ id: String, enabled: Bool = true, detect: Bool = false) -> Camera {
        Camera(id: id, name: "Camera \(id)", streamURL: "rtsp://127.0.0.1:8554/\(id)",
               detectURL: detect ? "rtsp://127.0.0.1:8554/\(id)-sub" : nil, enabled: enabled,
               latitude: 51.05, longitude: 3.72, municipality: "Gent", operatorName: "Stad Gent",
               purpose: "traffic", isPublic: true)
    }

    /// Adds, lists, updates and removes cameras; an existing id fails the whole add and an unknown
    /// id fails an update or a removal.
    public static func registryEdits(_ backend: StoreBackend) async throws {
        let registry = try await backend.makeRegistry()
        try await registry.add([(camera("b"), nil), (camera("a", enabled: false), nil)])
        #expect(try await registry.cameras().map(\.id) == ["a", "b"])
        #expect(try await registry.camera(id: "a")?.enabled == false)

        await #expect(throws: RegistryError.self) {
            try await registry.add([(camera("c"), nil), (camera("b"), nil)])
        }
        #expect(try await registry.camera(id: "c") == nil, "a failed add is all or nothing")

        var renamed = camera("b")
        renamed.name = "Korenmarkt"
        try await registry.update(renamed, credentials: .none)
        #expect(try await registry.camera(id: "b")?.name == "Korenmarkt")
        await #expect(throws: RegistryError.self) { try await registry.update(camera("zz"), credentials: .none) }

        try await registry.remove(id: "b")
        #expect(try await registry.cameras().map(\.id) == ["a"])
        await #expect(throws: RegistryError.self) { try await registry.remove(id: "b") }
    }

    /// Records never carry a password; only ``CameraSource/watchList()`` joins credentials
    /// in, and only for enabled cameras.
    public static func registryCredentials(_ backend: StoreBackend) async throws {
        let registry = try await backend.makeRegistry()
        let password = "S3cret/pass#?"
        try await registry.add([
            (camera("with", detect: true), CameraCredentials(username: "viewer", password: password)),
            (camera("without"), nil),
            (camera("off", enabled: false), CameraCredentials(username: "viewer", password: password)),
        ])
        for record in try await registry.cameras() {
            let json = String(decoding: try JSONEncoder().encode(record), as: UTF8.self)
            #expect(!json.contains("S3cret"), "camera \(record.id)'s record must not hold its password")
        }
        #expect(try await registry.hasCredentials(cameraID: "with"))
        #expect(try await !registry.hasCredentials(cameraID: "without"))

        let connections = try await registry.watchList()
        #expect(connections.map(\.camera.id) == ["off", "with", "without"])
        #expect(connections.map(\.camera.enabled) == [false, true, true])
        let with = try #require(connections.first { $0.camera.id == "with" })
        #expect(with.credentials == CameraCredentials(username: "viewer", password: password))
        #expect(with.streamURL.hasPrefix("rtsp://viewer:S3cret%2Fpass%23%3F@127.0.0.1:8554/with"))
        #expect(with.analysedURL == with.detectURL && with.detectURL?.contains("viewer:S3cret") == true)
        #expect(connections.last?.streamURL == "rtsp://127.0.0.1:8554/without")
        #expect(connections.last?.credentials == nil)
    }

    /// The generation moves with every change to a record or its credentials, and only then.
    public static func registryGeneration(_ backend: StoreBackend) async throws {
        let registry = try await backend.makeRegistry()
        var seen = [try await registry.generation()]
        #expect(try await registry.generation() == seen[0], "reading does not move the generation")

        func expectMoved(_ what: Comment) async throws {
            let now = try await registry.generation()
            #expect(!seen.contains(now), what)
            seen.append(now)
            #expect(try await registry.generation() == now, "no change, same generation")
        }
        try await registry.add([(camera("a"), nil)])
        try await expectMoved("adding a camera")
        var record = camera("a")
        record.purpose = "safety"
        try await registry.update(record, credentials: .none)
        try await expectMoved("updating a record")
        try await registry.update(record, credentials: .some(CameraCredentials(username: "u", password: "p")))
        try await expectMoved("changing only the credentials")
        try await registry.remove(id: "a")
        try await expectMoved("removing a camera")
    }

    // MARK: Queue

    /// An alert for the contract's queue checks.
    public static func alert(_ camera: String, _ message: String) -> Alert {
        Alert(kind: .cameraOffline, camera: camera, message: message)
    }

    /// Alerts come out in the order they were enqueued, each sink from its own position; an
    /// acknowledged alert is not read again; backlogs count what each sink has left.
    public static func queueDeliveryAndAcknowledgement(_ backend: StoreBackend) async throws {
        let queue = try await backend.makeQueue().queue
        let start = try await queue.registerSinks(["log", "webhook"])
        #expect(start.keys.sorted() == ["log", "webhook"])
        let sent = (1...5).map { alert("cam", "alert \($0)") }
        for alert in sent { #expect(try await queue.enqueue(alert) == .enqueued) }
        #expect(await queue.flush(timeout: 10))
        #expect(queue.status().committed >= 5)

        let read = try await queue.alerts(after: start["log"]!, limit: 10)
        #expect(read.map(\.id) == sent.map(\.id))
        #expect(zip(read, read.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
        #expect(try await queue.backlog() == ["log": 5, "webhook": 5])

        try await queue.acknowledge(sink: "log", through: read[2].sequence)
        #expect(try await queue.backlog() == ["log": 2, "webhook": 5])
        #expect(try await queue.alerts(after: read[2].sequence, limit: 10).map(\.id) == sent[3...].map(\.id))
        try await queue.acknowledge(sink: "log", through: read[0].sequence)
        #expect(try await queue.backlog()["log"] == 2, "an acknowledgement never moves a sink back")

        try await queue.deadLetter(read[0], sink: "webhook", failures: 10, reason: "HTTP 503")
        #expect(try await queue.backlog()["webhook"] == 4, "a dead letter counts as acknowledged")

        await #expect(throws: QueueError.self) {
            var bad = alert("cam", "bad")
            bad.camera = ""
            try await queue.enqueue(bad)
        }
    }

    /// A commit wakes a sink waiting for one, long before its timeout.
    public static func queueCommitWakesSinks(_ backend: StoreBackend) async throws {
        let queue = try await backend.makeQueue().queue
        _ = try await queue.registerSinks(["log"])
        let seen = queue.commitCount
        let waiter = Task {
            let started = ContinuousClock.now
            await queue.waitForCommit(after: seen, timeout: .seconds(60))
            return ContinuousClock.now - started
        }
        try await queue.enqueue(alert("cam", "wake up"))
        let waited = await waiter.value
        #expect(waited < .seconds(30), "woken by the commit, not by the 60 s timeout (waited \(waited))")
        #expect(queue.commitCount != seen)
    }

    /// The delivery cursor's invariant (see ``AlertDeliveryStore``): with many producers enqueueing
    /// at once while a sink reads and acknowledges, every alert is read exactly once and positions
    /// only grow. A backend that numbers alerts before they commit (a plain sequence with several
    /// writers) lets a late commit appear behind an acknowledged position: it is never read here.
    public static func queueCursorNeverSkipsALateCommit(_ backend: StoreBackend,
                                                         producers: Int = 8, alertsEach: Int = 60) async throws {
        let queue = try await backend.makeQueue().queue
        var position = try #require(try await queue.registerSinks(["log"])["log"])
        let producing = Task {
            try await withThrowingTaskGroup(of: [String].self) { group in
                for producer in 0..<producers {
                    group.addTask {
                        var ids: [String] = []
                        for number in 0..<alertsEach {
                            let alert = alert("cam-\(producer)", "alert \(number)")
                            let outcome = try await queue.enqueue(alert)
                            #expect(outcome != .coalesced)
                            ids.append(alert.id)
                        }
                        return ids
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.formUnion($1) }
            }
        }
        var read: [String] = []
        let deadline = Date().addingTimeInterval(60)
        while read.count < producers * alertsEach, Date() < deadline {
            let seen = queue.commitCount
            let batch = try await queue.alerts(after: position, limit: 7)
            guard let last = batch.last else {
                await queue.waitForCommit(after: seen, timeout: .milliseconds(200))
                continue
            }
            #expect(batch.first!.sequence > position && zip(batch, batch.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
            read += batch.map(\.id)
            position = last.sequence
            try await queue.acknowledge(sink: "log", through: position)
        }
        let sent = try await producing.value
        #expect(await queue.flush(timeout: 10))
        #expect(read.count == Set(read).count, "no alert read twice")
        #expect(Set(read) == sent, "\(sent.subtracting(read).count) alerts committed but never read")
        #expect(try await queue.alerts(after: position, limit: 10).isEmpty)
    }

    /// Closing and reopening keeps every undelivered alert and each sink's position.
    public static func queueSurvivesReopening(_ backend: StoreBackend) async throws {
        let (queue, handle) = try await backend.makeQueue()
        let start = try #require(try await queue.registerSinks(["log"])["log"])
        let sent = (1...3).map { alert("cam", "alert \($0)") }
        for alert in sent { try await queue.enqueue(alert) }
        let first = try #require(try await queue.alerts(after: start, limit: 1).first)
        try await queue.acknowledge(sink: "log", through: first.sequence)

        let reopened = try await backend.reopen(queue, handle)
        let position = try #require(try await reopened.registerSinks(["log"])["log"])
        #expect(position == first.sequence)
        #expect(try await reopened.alerts(after: position, limit: 10).map(\.id) == sent[1...].map(\.id))
        #expect(try await reopened.backlog() == ["log": 2])
    }
}
