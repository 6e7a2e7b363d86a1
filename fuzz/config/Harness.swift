import Foundation
import FuzzSupport
import VigilDetector
import VigilPipeline

/// The config parser on any text: a config or a one-line error, never a trap; an accepted config
/// has every value in range (`problem` is nil for each section the daemon reads).
let fuzzConfig: Harness = { data, size in
    let yaml = text(bytes(data, size))
    do throws(VigilConfig.LoadError) {
        let config = try VigilConfig.parse(yaml: yaml, origin: "fuzz.yaml")
        require(config.daemon.problem == nil, "accepted daemon settings out of range: \(config.daemon)")
        require(config.defaults.problem == nil, "accepted detector settings out of range")
        // The same text as a camera's detection overrides (as `--detection-file` reads it).
        _ = try? config.settings(applying: yaml, origin: "fuzz overrides")
    } catch {
        require(isOneLine(error.description), "a multi-line error: \(error.description)")
        require(error.description.utf8.count < 2000, "an error of \(error.description.utf8.count) bytes")
    }
    return 0
}

@main
struct ConfigHarness: FuzzHarness {
    static let harness = fuzzConfig
}
