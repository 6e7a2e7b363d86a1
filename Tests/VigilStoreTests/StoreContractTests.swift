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

/// Every ``StoreContract`` check against each backend; a second backend adds itself to `backends`.
@Suite("store contract")
struct StoreContractTests {
    static let backends = [sqliteBackend]

    @Test("each backend passes each registry and queue check of the contract", arguments: backends, StoreContract.checks)
    func contract(_ backend: StoreBackend, _ check: StoreContract.Check) async throws {
        try await check.run(backend)
    }
}
