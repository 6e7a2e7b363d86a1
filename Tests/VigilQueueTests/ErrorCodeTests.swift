import Foundation
import Logging
import Testing
@testable import VigilReporter
import VigilSQLite
import VigilStore
import VigilTestSupport
import VigilTesting

/// Failures a program can tell apart by their code, not by the words shown to people.
@Suite("error codes of the registry, the reporter and the sinks")
struct ErrorCodeTests {
    static func camera(_ id: String) -> Camera {
        Camera(id: id, name: id, streamURL: "rtsp://127.0.0.1:9/x", latitude: 51.05, longitude: 3.72,
               municipality: "Gent", operatorName: "Stad", purpose: "test", isPublic: true)
    }

    /// The error `body` throws, typed.
    static func failure<E: Error>(_ type: E.Type, _ body: () throws -> Void) -> E? {
        do {
            try body()
            return nil
        } catch {
            return error as? E
        }
    }

    @Test("registry: a missing registry, a duplicate camera and an unknown one each have their code")
    func registryCodes() throws {
        let state = try TestState()
        let missing = Self.failure(RegistryError.self) { _ = try CameraRegistry(readingFrom: state.directory) }
        #expect(missing?.code == .notFound, "\(String(describing: missing))")
        let registry = try CameraRegistry(directory: state.directory)
        try registry.add([(Self.camera("door"), nil)])
        let duplicate = Self.failure(RegistryError.self) { try registry.add([(Self.camera("door"), nil)]) }
        #expect(duplicate?.code == .duplicateCamera, "\(String(describing: duplicate))")
        let unknown = Self.failure(RegistryError.self) { try registry.remove(id: "gate") }
        #expect(unknown?.code == .unknownCamera, "\(String(describing: unknown))")
        // A state directory that is a file cannot hold a registry.
        let file = try TemporaryFile()
        let unopenable = Self.failure(RegistryError.self) { _ = try CameraRegistry(directory: StateDirectory(option: file.url.path)) }
        #expect(unopenable?.code == .cannotOpen, "\(String(describing: unopenable))")
    }

    @Test("reporter: a queue opened only for producing, and an alert log that is a symbolic link")
    func reporterCodes() throws {
        let state = try TestState()
        let producer = try state.queue(.produce)
        let noAccess = Self.failure(ReporterError.self) {
            _ = try Reporter(queue: producer, configuration: Reporter.Configuration(alertLog: state.alertLog))
        }
        #expect(noAccess?.code == .queueAccess, "\(String(describing: noAccess))")
        _ = producer.close()
        let link = state.root.url.appendingPathComponent("link.jsonl")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: state.alertLog)
        let deliverer = try state.queue(.deliver)
        let linked = Self.failure(ReporterError.self) {
            _ = try Reporter(queue: deliverer, configuration: Reporter.Configuration(alertLog: link))
        }
        #expect(linked?.code == .alertLog, "\(String(describing: linked))")
        #expect(linked?.description.contains("is a symbolic link") == true)
    }

    @Test("sinks: a symbolic link, a file that is not an alert log, an unwritable place, a failing command")
    func deliveryCodes() async throws {
        let files = try TemporaryDirectory()
        let logger = Logger(label: "test")
        func openLog(_ url: URL) -> DeliveryError? {
            Self.failure(DeliveryError.self) { _ = try AlertLogSink(url: url, logger: logger) }
        }
        let target = files.url.appendingPathComponent("alerts.jsonl")
        let link = files.url.appendingPathComponent("link.jsonl")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        #expect(openLog(link)?.code == .notAnAlertLog)
        let notes = files.url.appendingPathComponent("notes.txt")
        try "shopping list\n".write(to: notes, atomically: true, encoding: .utf8)
        #expect(openLog(notes)?.code == .notAnAlertLog)
        #expect(openLog(URL(fileURLWithPath: "/proc/vigil-none/alerts.jsonl"))?.code == .alertLogUnwritable)

        let state = try TestState()
        let queue = try state.queue([.produce, .deliver])
        _ = try await queue.enqueue(Alert(kind: .cameraOffline, camera: "door"))
        let queued = try await queue.alerts(after: 0, limit: 1)
        let exec = ExecSink(configuration: ExecConfiguration(target: "exit 3", timeout: 5))
        do {
            try await exec.deliver(queued)
            Issue.record("a command exiting with 3 was a delivery")
        } catch {
            #expect(error.code == .commandFailed, "\(error)")
            #expect(error.description == "exited with status 3")
        }
    }
}
