import Foundation
import Testing
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// Defect 5 of issue 18: producing alerts from async code must not hold the cooperative pool's
/// threads (two on this machine) while commits are slow.
@Suite("alert producer off the cooperative pool")
struct PoolResponsivenessTests {
    @Test("cameras going offline together while the database is locked: no pool thread waits, one commit after")
    func asyncEnqueueHoldsNoThread() async throws {
        let state = try TestState()
        let timeout = 2.0
        let queue = try state.queue([.produce]) {
            $0.enqueueTimeout = timeout
            $0.busyTimeout = 0.1
        }
        // Another connection holds the write lock, as a `vigil` command or a backup would: every
        // commit of the queue's writer fails and is retried, so each enqueue waits its whole timeout.
        let blocker = try SQLiteWriteLock(path: state.directory.file("queue.sqlite").path)
        let commitsBefore = queue.commitCount

        let cameras = 40
        let started = ContinuousClock.now
        let producing = Task {
            await withTaskGroup(of: EnqueueOutcome?.self) { group in
                for camera in 0..<cameras {
                    group.addTask {
                        try? await queue.enqueue(Alert(kind: .cameraOffline, camera: "cam-\(camera)", message: "no frame for 10 s"))
                    }
                }
                return await group.reduce(into: [EnqueueOutcome?]()) { $0.append($1) }
            }
        }
        // All of them are handed over and waiting at once (blocking enqueues would get there two
        // at a time, one timeout apart, and starve this poll of a thread); a new task runs at once.
        #expect(await eventually(within: timeout / 2) { queue.status().held == cameras })
        let probe = ContinuousClock.now
        let probeRan = await Task { ContinuousClock.now }.value - probe
        let outcomes = await producing.value
        let elapsed = ContinuousClock.now - started
        print("\(cameras) async enqueues against a locked database: all back after \(elapsed); a probe task ran after \(probeRan)")

        #expect(outcomes == Array(repeating: .delayed, count: cameras))
        #expect(probeRan < .seconds(timeout / 2), "the probe waited \(probeRan): the enqueues hold the pool's threads")
        // Blocking enqueues on a two-thread pool would take cameras / 2 timeouts (40 s).
        #expect(elapsed < .seconds(timeout * 3), "\(cameras) enqueues took \(elapsed), not about one timeout")
        #expect(queue.status().held == cameras && queue.status().delayed == cameras)

        blocker.release()
        #expect(await queue.flush(timeout: 10))
        #expect(queue.status().committed == cameras)
        #expect(queue.commitCount - commitsBefore <= 2, "held alerts are committed together, not one fsync each")
    }
}
