import ArgumentParser
import Foundation
import Logging
import VigilPipeline
import VigilPostgres
import VigilReporter
import VigilSQLite
import VigilStore

/// `--state-dir DIR`, for every subcommand that touches Vigil's state.
struct StateDirectoryOption: ParsableArguments {
    @Option(name: .customLong("state-dir"),
            help: "The state directory (default: $VIGIL_STATE_DIR, else $STATE_DIRECTORY, else /var/lib/vigil).")
    var path: String?

    var directory: StateDirectory { StateDirectory(option: path) }

    /// Opens the camera registry, turning problems into one-line failures.
    func openRegistry() throws -> CameraRegistry {
        do {
            return try CameraRegistry(directory: directory)
        } catch {
            throw Failure(error.description)
        }
    }

    /// Opens the camera registry for a command that only reads it; on a state directory this user
    /// cannot write (an operator reading the daemon's registry) the registry is opened read-only.
    func openRegistryForReading() throws -> CameraRegistry {
        guard directory.isReadOnly else { return try openRegistry() }
        do {
            return try CameraRegistry(readingFrom: directory)
        } catch {
            throw Failure(error.description)
        }
    }
}

/// `--state-dir DIR` and `--alert-log PATH`, for the subcommands that write or read the alert log.
struct AlertLogOption: ParsableArguments {
    @OptionGroup var state: StateDirectoryOption

    @Option(name: .customLong("alert-log"),
            help: "The alert log (default: $LOGS_DIRECTORY/alerts.jsonl, else <state dir>/alerts.jsonl).")
    var path: String?

    /// The alert log's location; `configured` is the config file's `reporter.alert_log`.
    func url(configured: String? = nil) -> URL {
        AlertLogLocation.resolve(option: path, configured: configured, stateDirectory: state.directory)
    }
}

/// `--state-dir DIR` and `--config FILE`: where a command finds the camera registry. Without a
/// config, or with one that has no `cluster:` section, it is the state directory's SQLite registry,
/// as always; with `cluster:` it is the fleet's PostgreSQL database (`--state-dir` is then unused).
struct RegistryOptions: ParsableArguments {
    @OptionGroup var state: StateDirectoryOption

    @Option(help: "The config file; with a cluster: section the registry is the fleet's PostgreSQL database.")
    var config: String?

    /// Runs `body` with the registry open, and closes the cluster database afterwards. `reading`:
    /// the command only reads, so a state directory this user cannot write is opened read-only.
    func withRegistry<T>(reading: Bool = false, _ body: (any CameraStore) async throws -> T) async throws -> T {
        guard let cluster = try loadConfig(config).cluster.databaseURLFile else {
            return try await body(reading ? state.openRegistryForReading() : state.openRegistry())
        }
        return try await withClusterDatabase(urlFile: cluster) { try await body(ClusterRegistry(database: $0, logger: clusterCommandLogger)) }
    }
}

/// What a CLI command logs about the cluster database: nothing (its errors are its output).
let clusterCommandLogger = Logger(label: "vigil.cluster", factory: { _ in SwiftLogNoOpLogHandler() })

/// Opens (and migrates) the fleet's database named by the config's `cluster.database_url_file`,
/// turning problems into one-line failures.
func openClusterDatabase(urlFile: String) async throws -> ClusterDatabase {
    do {
        return try await ClusterDatabase.open(urlFile: urlFile, logger: clusterCommandLogger)
    } catch {
        throw Failure(error.description)
    }
}

/// Runs `body` with the fleet's database open (``openClusterDatabase(urlFile:)``), and closes it afterwards.
func withClusterDatabase<T>(urlFile: String, _ body: (ClusterDatabase) async throws -> T) async throws -> T {
    let database = try await openClusterDatabase(urlFile: urlFile)
    do {
        let result = try await body(database)
        await database.close()
        return result
    } catch {
        await database.close()
        throw error
    }
}
