import ArgumentParser
import Foundation
import VigilPipeline
import VigilPostgres
import VigilSQLite
import VigilStore

/// `vigil cluster migrate --from-state-dir DIR`: moves a single server into the fleet. Copies the
/// state directory's registry (with credentials) and its undelivered alerts into the cluster
/// database named by the config's `cluster:` section. The state directory is only read. Idempotent:
/// a camera already in the cluster with the same record and credentials, and an alert id already
/// there, are left as they are, so a second run changes nothing.
struct ClusterMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy a state directory's registry and undelivered alerts into the cluster database (idempotent)."
    )

    @Option(name: .customLong("from-state-dir"), help: ArgumentHelp(
        "The single server's state directory; its registry.sqlite and queue.sqlite are only read.", valueName: "DIR"))
    var fromStateDir: String

    @Option(help: "The config file whose cluster: section names the database.")
    var config: String?

    /// Alerts inserted per transaction.
    static let batchSize = 500

    func run() async throws {
        try await reportingFailures {
            guard let urlFile = try loadConfig(config).cluster.databaseURLFile else {
                throw Failure(config.map { "config \($0) has no cluster: section with database_url_file; add one (docs/cluster.md)" }
                              ?? "cluster migrate needs --config FILE, the config whose cluster: section names the database")
            }
            let source = StateDirectory(option: fromStateDir)
            let registryFile = source.file(CameraRegistry.fileName).path
            guard FileManager.default.fileExists(atPath: registryFile) else {
                throw Failure("no registry in \(fromStateDir) (\(registryFile) does not exist); pass a Vigil state directory")
            }
            let cameras = try await CameraRegistry(readingFrom: source).watchList()
            let alerts = try await Self.undeliveredAlerts(in: source)

            let database = try await openClusterDatabase(urlFile: urlFile)
            let outcome: (cameras: CameraMerge, newAlerts: Int)
            do {
                let merge = try await CameraMerge.merge(cameras, into: ClusterRegistry(database: database, logger: clusterCommandLogger))
                var newAlerts = 0
                for start in stride(from: 0, to: alerts.count, by: Self.batchSize) {
                    let batch = Array(alerts[start..<min(start + Self.batchSize, alerts.count)])
                    newAlerts += try await ClusterAlertTable.insert(batch, into: database, logger: clusterCommandLogger)
                }
                outcome = (merge, newAlerts)
                await database.close()
            } catch {
                await database.close()
                if let error = error as? ClusterError { throw Failure(error.description) }
                throw error
            }
            print("cluster \(database.url): \(outcome.cameras.added.count) cameras added, "
                  + "\(outcome.cameras.unchanged.count) already there; \(outcome.newAlerts) undelivered alerts added, "
                  + "\(alerts.count - outcome.newAlerts) already there")
            if !outcome.cameras.conflicting.isEmpty {
                let ids = outcome.cameras.conflicting.map { "'\(TextFile.quoted($0))'" }.joined(separator: ", ")
                throw Failure("camera \(ids) already in the cluster with other fields or credentials; kept the cluster's: "
                              + "remove or rename them there (or here) and run again")
            }
        }
    }

    /// The alerts of the state directory's queue some sink has not delivered yet (all of them when
    /// no sink was ever registered), oldest first; none when there is no queue.
    static func undeliveredAlerts(in directory: StateDirectory) async throws -> [Alert] {
        guard FileManager.default.fileExists(atPath: directory.file("queue.sqlite").path) else { return [] }
        do throws(QueueError) {
            let queue = try AlertQueue(directory: directory, access: .read)
            defer { _ = queue.close() }
            // A sink's backlog is the alerts after its position, so the largest is the undelivered tail.
            let backlog = try await queue.backlog().values.max()
            var queued: [QueuedAlert] = []
            while true {
                let page = try await queue.alerts(after: queued.last?.sequence ?? 0, limit: batchSize)
                guard !page.isEmpty else { break }
                queued += page
            }
            return try queued.suffix(backlog ?? queued.count).map { entry throws(QueueError) in
                do {
                    return try Alert(jsonLine: entry.line)
                } catch {
                    throw QueueError(.database, "alert \(entry.id) in \(queue.path) cannot be read: \(error)")
                }
            }
        } catch {
            throw Failure(error.description)
        }
    }
}

/// What merging a registry's cameras into another did: the ids added, those already there with the
/// same record and credentials, and those already there with different ones (left as they were).
struct CameraMerge {
    var added: [String] = []
    var unchanged: [String] = []
    var conflicting: [String] = []

    /// Adds the cameras `store` does not have, all in one transaction.
    static func merge(_ cameras: [WatchedCamera], into store: any CameraStore) async throws(RegistryError) -> CameraMerge {
        let present = Dictionary(uniqueKeysWithValues: try await store.watchList().map { ($0.camera.id, $0) })
        var merge = CameraMerge()
        var entries: [(camera: Camera, credentials: CameraCredentials?)] = []
        for watched in cameras {
            guard let there = present[watched.camera.id] else {
                entries.append((watched.camera, watched.credentials))
                merge.added.append(watched.camera.id)
                continue
            }
            if there.camera == watched.camera && there.credentials == watched.credentials {
                merge.unchanged.append(watched.camera.id)
            } else {
                merge.conflicting.append(watched.camera.id)
            }
        }
        if !entries.isEmpty { try await store.add(entries) }
        return merge
    }
}
