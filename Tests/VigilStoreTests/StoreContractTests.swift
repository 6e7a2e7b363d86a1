import Foundation
import Testing
import VigilSQLite
import VigilStore
import VigilTestSupport

/// The SQLite backend: a registry and a queue in a fresh state directory on a real file system.
let sqliteBackend = StoreBackend(
    "SQLite",
    makeRegistry: { try CameraRegistry(directory: StateDirectory(option: try temporaryStatePath())) },
    makeQueue: {
        let path = try temporaryStatePath()
        return (try AlertQueue(directory: StateDirectory(option: path), access: [.produce, .deliver]), path)
    },
    reopen: { queue, path in
        (queue as? AlertQueue)?.close()
        return try AlertQueue(directory: StateDirectory(option: path), access: [.produce, .deliver])
    })

/// A new state directory under one directory per test process, removed when the process exits.
private func temporaryStatePath() throws -> String {
    _ = cleanUpAtExit
    return contractRoot + "/\(UUID().uuidString)/state"
}

private let contractRoot = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-contract-\(getpid())").path
private let cleanUpAtExit: Void = { _ = atexit { try? FileManager.default.removeItem(atPath: contractRoot) } }()

/// ``StoreContract`` against each backend; a second backend adds itself to `backends`.
@Suite("store contract")
struct StoreContractTests {
    static let backends = [sqliteBackend]

    @Test("registry: cameras are added, listed, updated and removed", arguments: backends)
    func registryEdits(_ backend: StoreBackend) async throws {
        try await StoreContract.registryEdits(backend)
    }

    @Test("registry: records never carry credentials; only the enabled cameras' connections do", arguments: backends)
    func registryCredentials(_ backend: StoreBackend) async throws {
        try await StoreContract.registryCredentials(backend)
    }

    @Test("registry: the generation moves with every change and only then", arguments: backends)
    func registryGeneration(_ backend: StoreBackend) async throws {
        try await StoreContract.registryGeneration(backend)
    }

    @Test("queue: alerts are read in order per sink, acknowledged, dead-lettered and counted", arguments: backends)
    func queueDelivery(_ backend: StoreBackend) async throws {
        try await StoreContract.queueDeliveryAndAcknowledgement(backend)
    }

    @Test("queue: a commit wakes a waiting sink", arguments: backends)
    func queueCommitWakesSinks(_ backend: StoreBackend) async throws {
        try await StoreContract.queueCommitWakesSinks(backend)
    }

    @Test("queue: with concurrent producers the delivery cursor never skips a late commit", arguments: backends)
    func queueCursor(_ backend: StoreBackend) async throws {
        try await StoreContract.queueCursorNeverSkipsALateCommit(backend)
    }

    @Test("queue: reopening keeps undelivered alerts and each sink's position", arguments: backends)
    func queueReopen(_ backend: StoreBackend) async throws {
        try await StoreContract.queueSurvivesReopening(backend)
    }
}
