import ArgumentParser
import Foundation
import VigilPipeline

/// `vigil eval DIR`: replays every clip with ground truth in DIR and prints how the events
/// compare with it, per clip and pooled over the suite.
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
            let report: EvaluationReport
            do throws(Evaluation.Failure) {
                report = try Evaluation.run(directory: directory, settings: settings,
                                            skipLoopFilter: decoding.skipLoopFilter, adaptive: decoding.adaptiveDecoding)
            } catch {
                throw Failure(error.description)
            }
            print(row(["clip", "truth", "found", "recall", "precision", "false alarms", "time F1", "onset ms",
                       "health", "decoded"]))
            for score in report.clips { print(row(cells(score))) }
            print(row(cells(report.overall)))
        }
    }

    private func cells(_ score: ClipScore) -> [String] {
        let noMotion = score.truthEvents == 0 || score.clip == "overall"
        return [score.clip, "\(score.truthEvents)", "\(score.detectedEvents)", scoreText(score.recall),
                scoreText(score.precision), noMotion ? "\(score.falseAlarms)" : "-", scoreText(score.timeF1),
                score.meanOnset.map { String(format: "%.0f", $0 * 1000) } ?? "-", score.healthText,
                percentText(score.decodedFraction)]
    }

    private func row(_ cells: [String]) -> String {
        tableRow(cells, widths: [22, 6, 6, 7, 10, 13, 8, 9, 8, 8])
    }
}
