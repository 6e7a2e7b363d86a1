import Foundation
import InMemoryLogging
import Logging
import Testing
import VigilDaemon
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

@Suite("the daemon's retention pass")
struct RetentionPassTests {
    static let day: Double = 86_400

    @Test("a pass prunes each camera's snapshots and queued alerts past its retention, spares held events, records all")
    func passFollowsRegistryAndHolds() async throws {
        let directory = try TemporaryDirectory()
        let state = StateDirectory(option: directory.path)
        let registry = try CameraRegistry(directory: state)
        func camera(_ id: String, retention: Int?) -> Camera {
            Camera(id: id, name: id, streamURL: "rtsp://10.1.2.3/\(id)", latitude: 51, longitude: 3.7, municipality: "Gent",
                   operatorName: "Stad Gent", purpose: "traffic", retentionDays: retention, isPublic: true)
        }
        try registry.add([(camera("short", retention: 7), nil), (camera("month", retention: nil), nil)])
        // Undelivered motion alerts 10 days old would go after the queue's 7-day maximum age
        // (QueueBoundsTests): this pass is about each camera's retention.
        var options = QueueOptions()
        options.maxAge = 30 * Self.day
        let queue = try AlertQueue(directory: state, access: [.produce, .deliver], options: options)
        defer { queue.close() }
        let store = SnapshotStore(directory: state.file("snapshots"), maxAge: .seconds(30 * Self.day), maxBytes: 1 << 30)
        let now = Date()
        // 10 days old: past short's 7 days, within month's 30; one of short's is held.
        var events: [String: String] = [:]
        for name in ["short-gone", "short-held", "month-kept"] {
            let time = now.addingTimeInterval(-10 * Self.day)
            let event = AlertID.make(at: time), camera = String(name.prefix { $0 != "-" })
            events[name] = event
            let path = try store.save([0xFF, 0xD8, 0x01], camera: camera, event: event, at: time)
            try FileManager.default.setAttributes([.modificationDate: time], ofItemAtPath: path)
            _ = try await queue.enqueue(Alert(kind: .motionStarted, camera: camera, time: time, event: event))
        }
        #expect(queue.flush(timeout: 5))
        try EvidenceHolds(directory: state).place(EvidenceHold(event: events["short-held"]!, camera: "short",
                                                               reason: "PV 12", until: nil, since: now))
        let logs = InMemoryLogHandler()
        let pruner = SnapshotPruner(store: store, queue: queue, state: state, registry: registry,
                                    logger: Logger(label: "vigil") { _ in logs })
        let pass = await pruner.pass(now: now)
        #expect(pass.problem == nil && pass.snapshots.removedFiles == 1 && pass.snapshots.heldFiles == 1 && pass.alerts == 1)

        let records = try String(contentsOf: state.file(DeletionLog.fileName), encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(Deletion.self, from: Data($0.utf8)) }
        #expect(records.map(\.kind) == ["snapshot", "alert"])
        #expect(records.allSatisfy { $0.event == events["short-gone"] && $0.camera == "short" && $0.reason == "retention 7 days" })
        #expect(try await queue.alerts(after: 0, limit: 10).map(\.camera) == ["short", "month"])
        #expect(logs.entries.contains { $0.message.description.hasPrefix("retention: removed 1 snapshots") })

        // Released, the held event goes at the next pass.
        #expect(try EvidenceHolds(directory: state).release(event: events["short-held"]!))
        let next = await pruner.pass(now: now)
        #expect(next.snapshots.removedFiles == 1 && next.alerts == 1 && next.snapshots.keptFiles == 1)
    }
}
