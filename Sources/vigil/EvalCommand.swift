import ArgumentParser
import Foundation
import VigilDetector
import VigilIngest
import VigilPipeline

/// `vigil eval DIR`: replays every clip with ground truth in DIR and prints how the events
/// compare with it, per clip and pooled over the suite: by default as the daemon decodes (adaptive,
/// without the loop filter), then pooled with every frame decoded; with decoding flags, as they say.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score the detector against the ground truth of every clip in a folder."
    )

    @Argument(help: "A folder of clips, each with a NAME.json ground truth beside it (e.g. fixtures).")
    var directory: String

    @Option(help: "A YAML config file; its detector defaults apply (default: the built-in defaults).")
    var config: String?

    @OptionGroup var decoding: DecodingOptions

    func run() throws {
        try reportingFailures {
            let settings = try loadConfig(config).defaults
            // Without decoding flags: the daemon's own decoding is the headline, every frame below it.
            let asDaemon = !decoding.skipLoopFilter && !decoding.adaptive
            let headline = try evaluate(settings, skipLoopFilter: asDaemon || decoding.skipLoopFilter,
                                        adaptive: asDaemon ? AdaptiveDecoding() : decoding.adaptiveDecoding)
            print(row(["clip", "truth", "found", "recall", "precision", "false alarms", "time F1", "onset ms",
                       "health", "decoded"]))
            for score in headline.clips { print(row(cells(score))) }
            print(row(cells(headline.overall)))
            if asDaemon {
                var everyFrame = try evaluate(settings, skipLoopFilter: false, adaptive: nil).overall
                everyFrame.clip = "overall, every frame"
                print(row(cells(everyFrame)))
            }
        }
    }

    private func evaluate(_ settings: CameraDetectionSettings, skipLoopFilter: Bool,
                          adaptive: AdaptiveDecoding?) throws -> EvaluationReport
    {
        do throws(Evaluation.Failure) {
            return try Evaluation.run(directory: directory, settings: settings, skipLoopFilter: skipLoopFilter,
                                      adaptive: adaptive)
        } catch {
            throw Failure(error.description)
        }
    }

    private func cells(_ score: ClipScore) -> [String] {
        let noMotion = score.truthEvents == 0 || score.clip.hasPrefix("overall")
        return [score.clip, "\(score.truthEvents)", "\(score.detectedEvents)", scoreText(score.recall),
                scoreText(score.precision), noMotion ? "\(score.falseAlarms)" : "-", scoreText(score.timeF1),
                score.meanOnset.map { String(format: "%.0f", $0 * 1000) } ?? "-", score.healthText,
                percentText(score.decodedFraction)]
    }

    private func row(_ cells: [String]) -> String {
        tableRow(cells, widths: [22, 6, 6, 7, 10, 13, 8, 9, 8, 8])
    }
}
