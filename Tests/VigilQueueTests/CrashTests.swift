import Foundation
import Testing
import VigilDetector
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

@Suite("the queue across crashes", .serialized)
struct CrashTests {
    @Test("a producer and a reporter SIGKILLed at random moments for 25 rounds lose no committed alert")
    func sigkillRounds() async throws {
        let state = try TestState()
        let record = state.root.path + "/committed.ids"
        var reporter = try state.startReporter()
        var reporterKills = 0
        for _ in 0..<25 {
            let producer = try TestProcess(tortureExecutable, ["flood", "--state-dir", state.path, "--record", record])
            try await Task.sleep(for: .seconds(Double.random(in: 0.02...0.5)))
            producer.kill()
            if Bool.random() {
                reporter.kill()
                reporterKills += 1
                reporter = try state.startReporter()
            }
        }
        // A last producer start closes the event the last killed producer left open.
        let closer = try runProcess(tortureExecutable, ["open", "--state-dir", state.path])
        #expect(closer.status == 0, "\(closer.stderrText)")

        // The record's last line may be torn by the kill: only whole ids count.
        let committed = Set(try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n")
            .map(String.init).filter(AlertID.isValid))
        let caughtUp = await eventually(within: 60) {
            let logged = (try? state.logAlerts()) ?? []
            let ended = Set(logged.filter { $0.kind == .motionEnded }.compactMap(\.event))
            return Set(logged.map(\.id)).isSuperset(of: committed)
                && logged.filter { $0.kind == .motionStarted }.allSatisfy { ended.contains($0.event!) }
        }
        reporter.send(SIGTERM)
        #expect(await reporter.waitForExit(timeout: 10) == 0, "\(reporter.stderrText)")
        #expect(caughtUp, "the log did not get every committed alert and every event's end")

        let text = try String(contentsOf: state.alertLog, encoding: .utf8)
        #expect(text.hasSuffix("\n"), "the log ends in a torn line")
        let logged = try state.logAlerts()
        let ids = logged.map(\.id)
        let missing = committed.subtracting(ids)
        #expect(missing.isEmpty, "committed but not in the log: \(missing.prefix(5))")
        let interrupted = logged.filter(\.interrupted)
        #expect(try state.integrityCheck() == "ok")
        #expect(committed.count > 100, "the producer committed too little to test anything")
        print("crash test: 25 rounds, reporter SIGKILLed \(reporterKills) times; \(committed.count) committed alerts "
              + "recorded, \(logged.count) log lines, \(ids.count - Set(ids).count) duplicates, 0 missing, "
              + "\(interrupted.count) interrupted events closed, integrity_check ok")
    }

    @Test("a motion event whose producer was killed gets a motion_ended with interrupted: true after restart")
    func crashClosure() async throws {
        let state = try TestState()
        let producer = try TestProcess(tortureExecutable, ["open-event", "--state-dir", state.path, "--camera", "door"])
        #expect(await eventually(within: 20) { producer.stdoutText.hasPrefix("STARTED ") }, "\(producer.stderrText)")
        let event = String(producer.stdoutText.dropFirst("STARTED ".count).prefix(26))
        producer.kill()

        let queue = try state.queue(.produce)
        #expect(queue.interruptedEvents.map(\.event) == [event])
        #expect(queue.flush(timeout: 10))
        let queued = try await queue.alerts(after: 0, limit: 10)
        #expect(queued.map(\.kind) == [.motionStarted, .motionEnded])
        let ended = try Alert(jsonLine: try #require(queued.last).line)
        #expect(ended.interrupted)
        #expect(ended.event == event)
        #expect(ended.camera == "door")
        #expect(ended.zones == ["door"])
        #expect(ended.box == PixelBox(x: 5, y: 6, width: 70, height: 80))
        #expect(ended.jsonLine().contains("\"interrupted\":true"))

        // An event that ended normally is not closed again, nor is the one already closed.
        let started = TestAlerts.started("gate")
        #expect(try await queue.enqueue(started) == .enqueued)
        #expect(try await queue.enqueue(TestAlerts.ended(started)) == .enqueued)
        queue.close()
        let reopened = try state.queue(.produce)
        #expect(reopened.interruptedEvents.isEmpty)
        reopened.close()
    }

    @Test("only one process produces and only one delivers at a time")
    func exclusiveRoles() async throws {
        let state = try TestState()
        let producer = try state.queue(.produce)
        #expect(throws: QueueError.self) { try state.queue(.produce) }
        let deliverer = try state.queue(.deliver)
        let reporter = try state.startReporter()
        #expect(await reporter.waitForExit(timeout: 10) == 1)
        #expect(reporter.stderrText.hasPrefix("vigil: another reporter (vigil run or vigil report)"))
        #expect(reporter.stderrText.split(separator: "\n").count == 1)
        producer.close()
        deliverer.close()
    }

    @Test("the queue's files are private: directory 0700, database 0600")
    func fileModes() async throws {
        let state = try TestState()
        let queue = try state.queue(.produce)
        #expect(try await queue.enqueue(TestAlerts.health("a")) == .enqueued)
        func mode(_ path: String) throws -> Int {
            try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        #expect(try mode(state.path) == 0o700)
        for file in ["queue.sqlite", "queue.sqlite-wal", "queue.sqlite-shm"] {
            #expect(try mode(state.directory.file(file).path) == 0o600, "\(file)")
        }
        queue.close()
    }
}
