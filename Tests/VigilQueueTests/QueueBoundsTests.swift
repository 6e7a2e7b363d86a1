import Foundation
import GRDB
import InMemoryLogging
import Logging
import Testing
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

@Suite("the queue's bounds: full queue, full disk, slow disk, old alerts")
struct QueueBoundsTests {
    @Test("a full disk is a clear degraded status, alerts wait in memory, and all are written in order when space returns")
    func fullDisk() async throws {
        let state = try TestState()
        let logs = InMemoryLogHandler()
        let queue = try state.queue(.produce, logs: logs) { $0.enqueueTimeout = 0.2 }
        // The database may not grow past its current size: the next page it needs is refused.
        try queue.simulateDiskLimit(pages: 1)
        var sent: [Alert] = []
        var delayed = 0
        while delayed < 4, sent.count < 500 {
            let alert = TestAlerts.health("cam-\(sent.count % 3)", .cameraDark)
            sent.append(alert)
            let started = Date()
            if try await queue.enqueue(alert) == .delayed { delayed += 1 }
            #expect(Date().timeIntervalSince(started) < 1, "enqueue blocked the caller")
        }
        #expect(delayed == 4, "the simulated disk never filled up")
        let degraded = queue.status()
        #expect(degraded.isDegraded)
        #expect(degraded.problem == "cannot write to \(state.directory.file("queue.sqlite").path): database or disk is full")
        #expect(degraded.held >= 4)
        #expect(logs.entries.contains { $0.level == .error && "\($0.message)".contains("database or disk is full") })

        try queue.simulateDiskLimit(pages: nil)
        #expect(queue.flush(timeout: 10))
        let recovered = queue.status()
        #expect(!recovered.isDegraded && recovered.held == 0)
        #expect(logs.entries.contains { "\($0.message)".contains("writing works again") })
        let stored = try await queue.alerts(after: 0, limit: 1000)
        #expect(stored.map(\.id) == sent.map(\.id))
        queue.close()
        #expect(try state.integrityCheck() == "ok")
    }

    @Test("a full queue coalesces motion alerts per camera into counts, never health alerts, and says so")
    func coalescing() async throws {
        let state = try TestState()
        let logs = InMemoryLogHandler()
        let queue = try state.queue([.produce, .deliver], logs: logs) { $0.maxAlerts = 20 }
        for _ in 0..<20 { #expect(try await queue.enqueue(TestAlerts.health("filler", .cameraOnline)) == .enqueued) }
        let firstGate = TestAlerts.started("gate")
        #expect(try await queue.enqueue(firstGate) == .coalesced)
        for _ in 1..<30 { #expect(try await queue.enqueue(TestAlerts.started("gate")) == .coalesced) }
        let offline = TestAlerts.health("gate", .cameraOffline)
        #expect(try await queue.enqueue(offline) == .enqueued)
        for _ in 0..<10 { #expect(try await queue.enqueue(TestAlerts.started("yard")) == .coalesced) }
        #expect(queue.status().coalesced == 40)
        #expect(logs.entries.contains { $0.level == .warning && "\($0.message)".contains("coalescing motion alerts of camera gate") })

        // The gate's motion is written before its health alert, as one alert counting 30.
        let stored = try await queue.alerts(after: 0, limit: 100)
        #expect(stored.count == 22)
        let gate = try Alert(jsonLine: stored[20].line)
        #expect(gate.id == firstGate.id && gate.count == 30 && gate.kind == .motionStarted)
        #expect(gate.message?.contains("coalesced while the alert queue was full") == true)
        #expect(stored[21].id == offline.id)

        // Once delivered alerts make room, the yard's count is written without another enqueue.
        _ = try await queue.registerSinks(["log"])
        try await queue.acknowledge(sink: "log", through: stored[21].sequence)
        var yard: Alert?
        let written = try await eventually(within: 15) {
            yard = try await queue.alerts(after: stored[21].sequence, limit: 10).first.map { try Alert(jsonLine: $0.line) }
            return yard != nil
        }
        #expect(written)
        #expect(yard?.camera == "yard" && yard?.count == 10)
        #expect(logs.entries.contains { "\($0.message)".contains("has room again") })
        queue.close()
    }

    @Test("enqueue returns within its timeout while another process holds the write lock, and the alert is written after")
    func lockedDatabase() async throws {
        let state = try TestState()
        let queue = try state.queue(.produce) { $0.enqueueTimeout = 0.2 }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let other = try DatabaseQueue(path: state.directory.file("queue.sqlite").path, configuration: configuration)
        let locked = DispatchSemaphore(value: 0)
        let holder = Thread {
            try? other.writeWithoutTransaction { db in
                defer { locked.signal() }
                try db.execute(sql: "BEGIN IMMEDIATE")
                locked.signal()
                Thread.sleep(forTimeInterval: 1.5)
                try db.execute(sql: "COMMIT")
            }
        }
        holder.start()
        try #require(locked.wait(timeout: .now() + 10) == .success, "the other connection never took the lock")
        let alert = TestAlerts.health("slow")
        let started = Date()
        #expect(try await queue.enqueue(alert) == .delayed)
        #expect(Date().timeIntervalSince(started) < 1, "enqueue waited for the lock")
        #expect(queue.status().delayed == 1)
        #expect(queue.flush(timeout: 10))
        #expect(try await queue.alerts(after: 0, limit: 5).map(\.id) == [alert.id])
        queue.close()
    }

    @Test("undelivered motion alerts older than the maximum age are deleted and recorded, unless held; health alerts are kept")
    func maxAge() async throws {
        let state = try TestState()
        let old = Date().addingTimeInterval(-10 * 86_400)
        let motion = Alert(kind: .motionEnded, camera: "a", time: old, event: AlertID.make(), peakArea: 0.1)
        let held = Alert(kind: .motionStarted, camera: "a", time: old, event: AlertID.make())
        let health = Alert(kind: .cameraCovered, camera: "a", time: old)
        let fresh = TestAlerts.ended(TestAlerts.started("a"))
        let queue = try state.queue(.produce) { $0.maxAge = 86_400 }
        for alert in [motion, held, health, fresh] { #expect(try await queue.enqueue(alert) == .enqueued) }
        // Within the camera's 30-day retention: only the queue's one-day maximum age applies.
        let policy = RetentionPolicy(days: ["a": 30], held: [held.event!])
        let deletions = try await queue.expire(under: policy)
        #expect(deletions.map(\.alert) == [motion.id])
        #expect(deletions.first?.reason == "undelivered for 24 h (a sink is not keeping up)")
        #expect(deletions.first?.sha256 == AlertChain.hash(motion.jsonLine().utf8))
        #expect(try await queue.alerts(after: 0, limit: 5).map(\.id) == [held.id, health.id, fresh.id])
        queue.close()
    }

    @Test("malformed alerts and closed queues are refused with a clear error")
    func refusals() async throws {
        let state = try TestState()
        let queue = try state.queue(.produce)
        #expect(throws: QueueError.self) { try queue.enqueue(Alert(kind: .motionStarted, camera: "a")) }
        queue.close()
        let error = #expect(throws: QueueError.self) { try queue.enqueue(TestAlerts.health("a")) }
        #expect(error?.code == .closed)
        let reader = try state.queue(.read)
        #expect((#expect(throws: QueueError.self) { try reader.enqueue(TestAlerts.health("a")) })?.code == .notAllowed)
    }
}
