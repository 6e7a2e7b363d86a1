import ArgumentParser
import VigilIngest

/// How `vigil replay` and `vigil eval` decode: the choices the daemon makes in its config, so that
/// replays measure what production runs.
struct DecodingOptions: ParsableArguments {
    @Flag(help: "Decode without the H.264 loop filter (cheaper analysis-only decoding).")
    var skipLoopFilter = false

    @Flag(help: "Adaptive decoding: only keyframes while the scene is quiet, catching up on the GOP when it changes.")
    var adaptive = false

    @Option(help: "With --adaptive: seconds of quiet before decoding drops to keyframes.")
    var adaptiveQuietSeconds: Double = AdaptiveDecoding().quietSeconds

    func validate() throws {
        guard adaptiveQuietSeconds >= 0 else {
            throw ValidationError("--adaptive-quiet-seconds must be 0 or more, got \(adaptiveQuietSeconds)")
        }
    }

    /// The adaptive decoding settings, or nil when every frame is decoded.
    var adaptiveDecoding: AdaptiveDecoding? {
        adaptive ? AdaptiveDecoding(quietSeconds: adaptiveQuietSeconds) : nil
    }
}
