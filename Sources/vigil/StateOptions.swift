import ArgumentParser
import VigilStore

/// `--state-dir`, shared by every subcommand that touches state.
struct StateOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The state directory (default: $VIGIL_STATE_DIR, $STATE_DIRECTORY, /var/lib/vigil).",
                               valueName: "dir"))
    var stateDir: String?

    var directory: StateDirectory { StateDirectory(option: stateDir) }

    /// Opens the camera registry, turning problems into one-line failures.
    func openRegistry() throws -> CameraRegistry {
        do {
            return try CameraRegistry(directory: directory)
        } catch {
            throw Failure(error.description)
        }
    }
}
