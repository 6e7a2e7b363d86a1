import Foundation
import GRDB
import InMemoryLogging
import Logging
import VigilDetector
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// The queue's crash-test producer, built with the tests.
let tortureExecutable = productExecutable("QueueTorture")

/// A state directory in a temporary directory, with the paths the queue and reporter use in it.
struct TestState {
    let root: TemporaryDirectory
    var path: String { root.path + "/state" }
    var directory: StateDirectory { StateDirectory(option: path) }
    var alertLog: URL { directory.file("alerts.jsonl") }

    init() throws {
        root = try TemporaryDirectory()
    }

    /// Opens the queue in this directory, with options changed by `configure` and its log lines
    /// kept in `logs`.
    func queue(_ access: AlertQueue.Access, logs: InMemoryLogHandler = InMemoryLogHandler(),
               _ configure: (inout QueueOptions) -> Void = { _ in }) throws -> AlertQueue {
        var options = QueueOptions()
        configure(&options)
        return try AlertQueue(directory: directory, access: access, options: options,
                              logger: Logger(label: "vigil.queue") { _ in logs })
    }

    /// Starts `vigil report` on this directory.
    func startReporter(_ extra: [String] = []) throws -> TestProcess {
        try TestProcess(vigilExecutable, ["report", "--state-dir", path] + extra)
    }

    /// The alert log's lines (without newlines); empty when it does not exist yet.
    func logLines() -> [String] {
        guard let text = try? String(contentsOf: alertLog, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init)
    }

    /// The alerts in the alert log as they were enqueued (without the log's `prev` links, which
    /// `AlertChainTests` checks); throws on a line that is not a whole alert.
    func logAlerts() throws -> [Alert] {
        try unchained(logLines())
    }

    /// `PRAGMA integrity_check` of the queue's database.
    func integrityCheck() throws -> String {
        let database = try DatabaseQueue(path: directory.file("queue.sqlite").path)
        return try database.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } ?? "no answer"
    }
}

/// The alerts of alert-log lines without their `prev` links: what was enqueued.
func unchained(_ lines: [some StringProtocol]) throws -> [Alert] {
    try lines.map { line in
        var alert = try Alert(jsonLine: line)
        alert.prev = nil
        return alert
    }
}

/// Alerts for tests: a motion event's two alerts and a health alert.
enum TestAlerts {
    static func started(_ camera: String, event: String = AlertID.make()) -> Alert {
        Alert(kind: .motionStarted, camera: camera, event: event, zones: ["street"], peakArea: 0.02,
              box: PixelBox(x: 10, y: 20, width: 30, height: 40))
    }

    static func ended(_ started: Alert) -> Alert {
        Alert(kind: .motionEnded, camera: started.camera, event: started.event, zones: started.zones,
              peakArea: 0.03, box: started.box)
    }

    static func health(_ camera: String, _ kind: AlertKind = .cameraOffline) -> Alert {
        Alert(kind: kind, camera: camera, message: "test \(kind)")
    }
}
