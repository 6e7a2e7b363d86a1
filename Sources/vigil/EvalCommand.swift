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
        func fraction(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "-" }
        let noMotion = score.truthEvents == 0 || score.clip == "overall"
        let health = score.healthExpected == 0 && score.healthExtra == 0
            ? "-" : "\(score.healthMatched)/\(score.healthExpected)" + (score.healthExtra > 0 ? " +\(score.healthExtra)" : "")
        return [score.clip, "\(score.truthEvents)", "\(score.detectedEvents)", fraction(score.recall),
                fraction(score.precision), noMotion ? "\(score.falseAlarms)" : "-", fraction(score.timeF1),
                score.meanOnset.map { String(format: "%.0f", $0 * 1000) } ?? "-", health,
                score.decodedFraction.map { String(format: "%.0f%%", $0 * 100) } ?? "-"]
    }

    private func row(_ cells: [String]) -> String {
        let widths = [22, 6, 6, 7, 10, 13, 8, 9, 8, 8]
        return zip(cells, widths).map { cell, width in
            cell.count >= width ? cell + " " : cell.padding(toLength: width, withPad: " ", startingAt: 0)
        }.joined().trimmingCharacters(in: .whitespaces)
    }
}
