import Foundation
import InMemoryLogging
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import VigilDaemon
import VigilDetector
import VigilIngest
import VigilPipeline
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// A supervisor over a real registry (cameras added through the CLI) whose events go to `onEvent`, run
/// in its own service group with the test's other services.
final class SupervisorBench: @unchecked Sendable {
    let setup: DaemonSetup
    let logs = InMemoryLogHandler()
    let board = CameraStatusBoard()
    private(set) var supervisor: CameraSupervisor!
    private var group: ServiceGroup!
    private var task: Task<Void, any Error>!

    init(setup: DaemonSetup) {
        self.setup = setup
    }

    var logger: Logger {
        let logs = logs
        return Logger(label: "vigil") { _ in logs }
    }

    /// Starts the supervisor (and `others`, built with it) with short timings.
    func start(stopTimeout: Duration = .seconds(3), offlineAfter: Double = 4, openTimeout: Double = 3,
               readTimeout: Double = 2, onEvent: @escaping CameraSupervisor.WorkerEventHandler,
               others: (CameraSupervisor) -> [any Service] = { _ in [] }) throws {
        let registry = try CameraRegistry(directory: StateDirectory(option: setup.state.path))
        var timing = WorkerSettings()
        timing.openTimeout = .seconds(openTimeout)
        timing.readTimeout = .seconds(readTimeout)
        timing.offlineAfter = .seconds(offlineAfter)
        timing.reconnect.initialDelay = .seconds(0.5)
        timing.reconnect.maximumDelay = .seconds(1)
        supervisor = CameraSupervisor(registry: registry, timing: { [timing] _ in timing }, pollInterval: .seconds(1),
                                      settings: { VigilConfig().settings(forCamera: $0.id) }, board: board,
                                      stopTimeout: stopTimeout, logger: logger, onEvent: onEvent)
        group = ServiceGroup(services: [supervisor] + others(supervisor), logger: logger)
        let group = group!
        task = Task { try await group.run() }
    }

    /// Shuts the group down gracefully; the seconds until it returned.
    func stop() async throws -> Double {
        let start = Date()
        await group.triggerGracefulShutdown()
        try await task.value
        return Date().timeIntervalSince(start)
    }

    /// The log's messages, each with its camera first.
    var log: [String] {
        logs.entries.map { (($0.metadata["camera"].map { "camera=\($0) " }) ?? "") + "\($0.message)" }
    }

    /// How many workers were started for `camera`.
    func workersStarted(_ camera: String) -> Int {
        log.filter { $0 == "camera=\(camera) watching camera" }.count
    }

    func count(_ text: String) -> Int {
        log.filter { $0.contains(text) }.count
    }
}

/// Holds the threads that report events until the test opens it (or `limit` seconds pass): a
/// bridge whose disk is stuck.
final class EventGate: Sendable {
    private let opened = Atomic<Bool>(false)
    private let holding = Atomic<Int>(0)

    /// Threads held now.
    var held: Int { holding.load(ordering: .relaxed) }

    func hold(limit: Double = 30) {
        holding.add(1, ordering: .relaxed)
        let deadline = Date().addingTimeInterval(limit)
        while !opened.load(ordering: .relaxed), Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        holding.subtract(1, ordering: .relaxed)
    }

    func open() {
        opened.store(true, ordering: .relaxed)
    }
}

/// Events as the handler received them, in order, with the worker number.
final class EventRecord: Sendable {
    private let events = Mutex<[(camera: String, worker: Int, event: String)]>([])

    func add(_ camera: Camera, _ worker: Int, _ event: WorkerEvent) {
        events.withLock { $0.append((camera.id, worker, Self.name(event))) }
    }

    var all: [(camera: String, worker: Int, event: String)] { events.withLock { $0 } }

    func names(of camera: String) -> [String] { all.filter { $0.camera == camera }.map(\.event) }

    static func name(_ event: WorkerEvent) -> String {
        switch event {
        case .offline(let reason): "offline: \(reason)"
        case .online: "online"
        case .healthStarted(let kind): "health started: \(kind)"
        default: "\(event)".prefix { $0 != "(" }.description
        }
    }
}

@Suite("CameraSupervisor in-process: stopping, one worker per camera, offline order, stuck cameras")
struct SupervisorTests {
    @Test("two workers that do not stop are given up on together after 3 s, not 3 s each (defect 1)")
    func sharedStopDeadline() async throws {
        let setup = try DaemonSetup()
        try setup.addCamera("dark-1", url: Fixtures.path("dark.mp4"))
        try setup.addCamera("dark-2", url: Fixtures.path("dark.mp4"))
        let gate = EventGate()
        defer { gate.open() }
        let bench = SupervisorBench(setup: setup)
        try bench.start(onEvent: { _, _, event in
            if case .healthStarted = event { gate.hold() }
        })
        #expect(await eventually(within: 20) { gate.held == 2 }, "\(bench.log)")
        let seconds = try await bench.stop()
        print("two hung workers: the supervisor stopped in \(String(format: "%.2f", seconds)) s")
        #expect(seconds < 4.5, "stopping took \(seconds) s")
        #expect(bench.count("did not stop within 3.0 s") == 2, "\(bench.log)")
    }

    @Test("a worker that does not stop stays as stopping: no second worker starts for its camera until it ended (defect 2)")
    func oneWorkerPerCamera() async throws {
        let setup = try DaemonSetup()
        try setup.addCamera("cam", url: Fixtures.path("dark.mp4"))
        let gate = EventGate()
        defer { gate.open() }
        let record = EventRecord()
        let bench = SupervisorBench(setup: setup)
        try bench.start(stopTimeout: .seconds(1), onEvent: { camera, worker, event in
            record.add(camera, worker, event)
            if case .healthStarted = event { gate.hold() }
        })
        #expect(await eventually(within: 20) { gate.held == 1 }, "\(bench.log)")
        // A new stream restarts the worker; the old one is stuck in its report.
        let update = try runVigil(["camera", "update", "cam", "--url", Fixtures.path("covered.mp4"),
                                   "--state-dir", setup.state.path])
        try #require(update.status == 0, "\(update.stderrText)")
        #expect(await eventually(within: 10) { bench.count("did not stop within") >= 1 }, "\(bench.log)")
        #expect(bench.supervisor.stoppingCameras == ["cam"])
        // Several registry polls (1 s) later, still no second worker.
        try await Task.sleep(for: .seconds(3))
        #expect(bench.workersStarted("cam") == 1, "\(bench.log)")
        #expect(bench.supervisor.states["cam"] == nil)
        gate.open()
        #expect(await eventually(within: 10) { bench.workersStarted("cam") == 2 }, "\(bench.log)")
        #expect(bench.supervisor.stoppingCameras.isEmpty)
        #expect(Set(record.all.map(\.worker)).count <= 2)
        _ = try await bench.stop()
    }

    @Test("the bridge ends each worker's motion event with its own id, also when two workers of a camera overlap (defect 2)")
    func bridgeKeepsWorkersApart() async throws {
        let directory = try TemporaryDirectory()
        let queue = try AlertQueue(directory: StateDirectory(option: directory.path), access: [.produce, .deliver])
        let bridge = AlertBridge(queue: queue, motionEventsPerMinute: { 100 }, logger: Logger(label: "test"))
        let camera = Camera(id: "cam", name: "cam", streamURL: "/x.mp4", latitude: 50, longitude: 4,
                            municipality: "Brussel", operatorName: "Stad", purpose: "test", isPublic: true)
        let motion = MotionEvent(start: 0, confirmedAt: 0.2, end: 1, peakArea: 0.5, peakTime: 0.5, frames: 10,
                                 box: PixelBox(x: 0, y: 0, width: 10, height: 10), zones: ZoneSet(rawValue: 0))
        bridge.publish(camera: camera, worker: 1, event: .motionStarted(motion, zones: []))
        bridge.publish(camera: camera, worker: 2, event: .motionStarted(motion, zones: []))
        bridge.publish(camera: camera, worker: 1, event: .motionEnded(motion, zones: [], cut: .streamLost, snapshot: nil))
        bridge.publish(camera: camera, worker: 2, event: .motionEnded(motion, zones: [], cut: nil, snapshot: nil))
        #expect(queue.flush(timeout: 5))
        let alerts = try await queue.alerts(after: 0, limit: 10).map {
            try #require(JSONSerialization.jsonObject(with: Data($0.line.utf8)) as? [String: Any])
        }
        let events = alerts.map { "\($0["kind"] ?? "") \($0["event"] ?? "")" }
        #expect(alerts.count == 4, "\(events)")
        let ids = alerts.compactMap { $0["event"] as? String }
        // started 1, started 2, ended 1, ended 2: each end repeats its own start's id.
        #expect(ids.count == 4 && ids[0] != ids[1] && ids[2] == ids[0] && ids[3] == ids[1], "\(events)")
        queue.close()
    }

    @Test("a camera back while its offline alert is still being queued is logged offline then online (defect 3)")
    func offlineThenOnline() async throws {
        let server = try RTSPTestServer(media: ["cam": "one_crossing.mp4"])
        let setup = try DaemonSetup()
        try setup.addCamera("cam", url: server.url("cam"))
        let gate = EventGate()
        defer { gate.open() }
        let offlineArrived = Atomic<Bool>(false)
        let record = EventRecord()
        let bench = SupervisorBench(setup: setup)
        // The offline alert's commit is slow (the gate); online must still come after it.
        try bench.start(offlineAfter: 2, onEvent: { camera, worker, event in
            if case .offline = event {
                offlineArrived.store(true, ordering: .relaxed)
                gate.hold(limit: 20)
            }
            record.add(camera, worker, event)
        })
        #expect(await eventually(within: 15) { bench.supervisor.states["cam"] == .streaming }, "\(bench.log)")
        server.kill()
        #expect(await eventually(within: 10) { offlineArrived.load(ordering: .relaxed) }, "\(bench.log)")
        try server.start()
        #expect(await eventually(within: 15) { bench.supervisor.states["cam"] == .streaming }, "\(bench.log)")
        gate.open()
        #expect(await eventually(within: 10) { record.names(of: "cam").contains("online") }, "\(record.all)")
        let order = record.names(of: "cam").filter { $0 == "online" || $0.hasPrefix("offline") }
        #expect(order.count == 2 && order.first?.hasPrefix("offline") == true && order.last == "online", "\(order)")
        #expect(bench.board.snapshot().cameras.first?.connection == .streaming)
        _ = try await bench.stop()
    }

    @Test("a stuck camera is reported and restarted by the supervisor while WATCHDOG=1 goes on (defect 4)")
    func stuckCamera() async throws {
        let setup = try DaemonSetup()
        try setup.addCamera("cam", url: Fixtures.path("dark.mp4"))
        let notify = try NotifySocket(directory: setup.files)
        let gate = EventGate()
        defer { gate.open() }
        let record = EventRecord()
        let bench = SupervisorBench(setup: setup)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"])
        try bench.start(offlineAfter: 30, openTimeout: 1, readTimeout: 1, onEvent: { camera, worker, event in
            record.add(camera, worker, event)
            if case .healthStarted = event { gate.hold() }
        }, others: { [board = bench.board, logger = bench.logger] supervisor in
            [SystemdStatusService(notifier: notifier, board: board, logger: logger,
                            isAlive: { supervisor.isMakingProgress() }, queueStatus: { (true, nil) })]
        })
        #expect(await eventually(within: 20) { gate.held == 1 }, "\(bench.log)")
        // No sign of life for open + read deadline + 5 s (7 s): reported offline, asked to stop.
        #expect(await eventually(within: 15) { bench.count("camera worker stuck") == 1 }, "\(bench.log)")
        #expect(record.names(of: "cam").contains { $0.hasPrefix("offline") && $0.contains("stuck") }, "\(record.all)")
        #expect(bench.board.status(of: "cam")?.reconnects == ["stuck": 1])
        let pings = notify.messages.filter { $0 == "WATCHDOG=1" }.count
        #expect(await eventually(within: 5) { notify.messages.filter { $0 == "WATCHDOG=1" }.count > pings + 1 },
                "the watchdog stopped for one stuck camera")
        #expect(notify.messages.contains { $0.hasPrefix("STATUS=0/1 cameras streaming, 1 offline") }, "\(notify.messages)")
        gate.open()
        #expect(await eventually(within: 10) { bench.workersStarted("cam") == 2 }, "\(bench.log)")
        _ = try await bench.stop()
    }
}
