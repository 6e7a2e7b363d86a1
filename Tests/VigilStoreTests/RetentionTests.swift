import Foundation
import Testing
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// The SHA-256 of a file as coreutils computes it: an oracle independent of Vigil's own hashing.
func sha256sum(_ path: String) throws -> String {
    let output = try runProcess("/usr/bin/sha256sum", [path])
    return String(output.stdoutText.prefix(64))
}

/// The deletion log of `state`, one record per line.
func deletionRecords(in state: URL) throws -> [Deletion] {
    let text = try String(contentsOf: state.appendingPathComponent(DeletionLog.fileName), encoding: .utf8)
    return try text.split(separator: "\n").map { try JSONDecoder().decode(Deletion.self, from: Data($0.utf8)) }
}

@Suite("retention by law: per-camera retention, holds, the deletion log")
struct RetentionTests {
    static let day: Double = 86_400

    @Test("pruning removes exactly the snapshots past their camera's retention and not held, and records each with its SHA-256")
    func prunesByCameraRetention() throws {
        let state = try TemporaryDirectory()
        let store = SnapshotStore(directory: state.url.appendingPathComponent("snapshots"),
                                  maxAge: .seconds(30 * Self.day), maxBytes: 1 << 30)
        let now = Date()
        // short: 7 days; long: 60 days (a legal exception); gone: not in the registry, snapshot_max_age_days (30).
        let files: [(camera: String, age: Double, held: Bool, removed: Bool)] = [
            ("short", 10, false, true), ("short", 10, true, false), ("short", 3, false, false),
            ("long", 40, false, false), ("long", 70, false, true), ("gone", 40, false, true), ("gone", 20, false, false),
        ]
        var expected: [String: String] = [:]  // path -> sha256 of what must go
        var kept: [String] = [], held: Set<String> = []
        for (index, file) in files.enumerated() {
            let taken = now.addingTimeInterval(-file.age * Self.day)
            let event = AlertID.make(at: taken)
            let path = try store.save([0xFF, 0xD8, UInt8(index)] + [UInt8](repeating: UInt8(index), count: 500 + index),
                                      camera: file.camera, event: event, at: taken)
            try FileManager.default.setAttributes([.modificationDate: taken], ofItemAtPath: path)
            if file.held { held.insert(event) }
            if file.removed { expected[path] = try sha256sum(path) } else { kept.append(path) }
        }
        let policy = RetentionPolicy(days: ["short": 7, "long": 60], fallback: 30 * Self.day, held: held)
        let log = try DeletionLog(directory: StateDirectory(option: state.path))
        let pass = store.prune(now: now, policy: policy, log: log)
        try log.close()

        #expect(pass.removedFiles == 3 && pass.keptFiles == 4 && pass.heldFiles == 1 && pass.problem == nil)
        for path in kept { #expect(FileManager.default.fileExists(atPath: path), "\(path) was removed") }
        for path in expected.keys { #expect(!FileManager.default.fileExists(atPath: path), "\(path) was kept") }
        let records = try deletionRecords(in: state.url)
        #expect(records.count == 3)
        for record in records {
            let path = state.path + "/" + record.file
            #expect(expected[path] == record.sha256, "\(record.file)")
            #expect(record.kind == "snapshot" && record.event == (path as NSString).lastPathComponent.replacingOccurrences(of: ".jpg", with: ""))
            #expect(record.camera == record.file.split(separator: "/")[1].description)
        }
        #expect(Set(records.map(\.reason))
                == ["retention 7 days", "retention 60 days", "retention 30 days (camera not in the registry)"])
        let mode = try FileManager.default.attributesOfItem(atPath: state.path + "/deletions.jsonl")[.posixPermissions] as? Int
        #expect(mode == 0o640)

        // A second pass finds nothing more and appends nothing.
        let again = try DeletionLog(directory: StateDirectory(option: state.path))
        #expect(store.prune(now: now, policy: policy, log: again).removedFiles == 0)
        try again.close()
        #expect(try deletionRecords(in: state.url).count == 3)
    }

    @Test("the size cap removes the oldest snapshots but never a held one, and records the reason")
    func sizeCapSparesHeld() throws {
        let state = try TemporaryDirectory()
        let store = SnapshotStore(directory: state.url.appendingPathComponent("snapshots"),
                                  maxAge: .seconds(30 * Self.day), maxBytes: 2500)
        let now = Date()
        var events: [String] = []
        for age in [3.0, 2, 1] {
            let taken = now.addingTimeInterval(-age * Self.day)
            let event = AlertID.make(at: taken)
            let path = try store.save([UInt8](repeating: 1, count: 1000), camera: "cam", event: event, at: taken)
            try FileManager.default.setAttributes([.modificationDate: taken], ofItemAtPath: path)
            events.append(event)
        }
        let log = try DeletionLog(directory: StateDirectory(option: state.path))
        let pass = store.prune(now: now, policy: RetentionPolicy(days: ["cam": 30], held: [events[0]]), log: log)
        try log.close()
        #expect(pass.removedFiles == 1 && pass.keptFiles == 2 && pass.heldFiles == 1)
        let records = try deletionRecords(in: state.url)
        #expect(records.map(\.event) == [events[1]] && records.first?.reason == "size cap 2500 bytes")
    }

    @Test("the deletion log is never written through a symbolic link, and then nothing is pruned")
    func deletionLogRefusesSymlink() throws {
        let state = try TemporaryDirectory()
        let elsewhere = state.url.appendingPathComponent("elsewhere.txt")
        try Data("untouched\n".utf8).write(to: elsewhere)
        try FileManager.default.createSymbolicLink(atPath: state.path + "/deletions.jsonl", withDestinationPath: elsewhere.path)
        #expect(throws: DeletionLog.Failure.self) { try DeletionLog(directory: StateDirectory(option: state.path)) }
        #expect(try String(contentsOf: elsewhere, encoding: .utf8) == "untouched\n")
    }

    @Test("alerts kept in the queue database past their camera's retention are deleted unless held, and recorded")
    func expiresQueuedAlerts() async throws {
        let state = try TemporaryDirectory()
        let directory = StateDirectory(option: state.path)
        let queue = try AlertQueue(directory: directory, access: [.produce, .deliver])
        defer { queue.close() }
        let now = Date()
        // 5 days: under the queue's own 7-day limit for undelivered motion alerts.
        let old = now.addingTimeInterval(-5 * Self.day), recent = now.addingTimeInterval(-Self.day)
        let heldEvent = AlertID.make(at: old), goneEvent = AlertID.make(at: old)
        let alerts = [
            Alert(kind: .motionStarted, camera: "cam", time: old, event: goneEvent),
            Alert(kind: .motionStarted, camera: "cam", time: old, event: heldEvent),
            Alert(kind: .cameraOffline, camera: "cam", time: old),
            Alert(kind: .motionStarted, camera: "cam", time: recent, event: AlertID.make(at: recent)),
            Alert(kind: .motionStarted, camera: "other", time: old, event: AlertID.make(at: old)),
        ]
        for alert in alerts { _ = try await queue.enqueue(alert) }
        #expect(queue.flush(timeout: 5))
        let lines = try await queue.alerts(after: 0, limit: 100)
        let deletions = try await queue.expire(under: RetentionPolicy(days: ["cam": 3, "other": 30], held: [heldEvent]),
                                               now: now)
        #expect(Set(deletions.compactMap(\.alert)) == [alerts[0].id, alerts[2].id])
        for deletion in deletions {
            let line = try #require(lines.first { $0.id == deletion.alert }).line
            let file = state.url.appendingPathComponent("line")
            try Data(line.utf8).write(to: file)
            #expect(deletion.sha256 == (try sha256sum(file.path)))
            #expect(deletion.file == "queue.sqlite" && deletion.reason == "retention 3 days" && deletion.kind == "alert")
        }
        #expect(try await queue.alerts(after: 0, limit: 100).map(\.id) == [alerts[1].id, alerts[3].id, alerts[4].id])
    }
}
