import Foundation
import Logging
import Testing
import VigilDaemon
import VigilDetector
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// Defect 5 of issue 18: the supervisor's offline reports wait for their commit; they must not
/// wait one after another on the cooperative pool.
@Suite("supervisor offline reports off the cooperative pool")
struct OfflineTogetherTests {
    @Test("cameras going offline together while commits are slow are all handed to the queue at once")
    func offlineTogether() async throws {
        let directory = try TemporaryDirectory()
        let state = StateDirectory(option: directory.path)
        let registry = try CameraRegistry(directory: state)
        let cameras = 10
        // Port 9 on 127.0.0.1: nothing listens, every connection is refused at once.
        try registry.add((0..<cameras).map { number in
            (Camera(id: "dead-\(number)", name: "dead \(number)", streamURL: "rtsp://127.0.0.1:9/x", latitude: 51.05,
                    longitude: 3.72, municipality: "Gent", operatorName: "Stad", purpose: "test", isPublic: true), nil)
        })
        let enqueueTimeout = 3.0
        var options = QueueOptions()
        options.enqueueTimeout = enqueueTimeout
        options.busyTimeout = 0.1
        let queue = try AlertQueue(directory: state, access: [.produce, .deliver], options: options)
        // Another connection holds the write lock: every commit fails and is retried, so each
        // offline report waits its whole enqueue timeout.
        let blocker = try SQLiteWriteLock(path: state.file("queue.sqlite").path)

        let logger = Logger(label: "vigil.test")
        let bridge = AlertBridge(queue: queue, motionEventsPerMinute: { 10 }, logger: logger)
        var timing = WorkerSettings()
        timing.offlineAfter = .seconds(1)
        timing.openTimeout = .seconds(1)
        let workerTiming = timing
        let supervisor = CameraSupervisor(registry: registry, timing: { _ in workerTiming },
                                          settings: { _ in CameraDetectionSettings() }, logger: logger,
                                          onEvent: { bridge.publish(camera: $0, worker: $1, event: $2) })
        let running = Task { try await supervisor.run() }
        let started = ContinuousClock.now

        // One after another they would take `cameras` enqueue timeouts (30 s); together, about one.
        let together = await eventually(within: 2 + 2 * enqueueTimeout) { queue.status().held >= cameras }
        print("\(queue.status().held) of \(cameras) offline reports against a locked queue handed over after \(ContinuousClock.now - started)")
        #expect(together, "only \(queue.status().held) of \(cameras) offline reports handed over")

        blocker.release()
        #expect(await queue.flush(timeout: 10))
        let offline = try await queue.alerts(after: 0, limit: 1000).filter { $0.kind == .cameraOffline }
        #expect(Set(offline.map(\.camera)) == Set((0..<cameras).map { "dead-\($0)" }))
        running.cancel()
        _ = try? await running.value
        queue.close()
    }
}
