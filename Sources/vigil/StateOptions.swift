import ArgumentParser
import Foundation
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
