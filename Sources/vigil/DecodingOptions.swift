import ArgumentParser
import VigilDetector
import VigilIngest

/// How `vigil replay` and `vigil eval` decode: the choices the daemon makes in its config, so that
/// replays measure what production runs.
struct DecodingOptions: ParsableArguments {
    @Flag(help: "Decode without the H.264 loop filter (cheaper analysis-only decoding).")
    var skipLoopFilter = false

    @Flag(help: "Adaptive decoding: only keyframes while the scene is quiet, catching up on the GOP when it changes.")
    var adaptive = false

    @Option(parsing: .unconditional, help: "With --adaptive: seconds of quiet before decoding drops to keyframes (0...86400).")
    var adaptiveQuietSeconds: Double = AdaptiveDecoding().quietSeconds

    func validate() throws {
        try checkRange("--adaptive-quiet-seconds", adaptiveQuietSeconds, 0...86_400, unit: "seconds")
    }

    /// The adaptive decoding settings, or nil when every frame is decoded.
    var adaptiveDecoding: AdaptiveDecoding? {
        adaptive ? AdaptiveDecoding(quietSeconds: adaptiveQuietSeconds) : nil
    }
}
