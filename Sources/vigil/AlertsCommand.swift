import ArgumentParser
import Foundation
import VigilStore

/// `vigil alerts`: look at the alerts Vigil raised.
struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Show the alert log and the alerts a sink gave up on.",
        subcommands: [AlertsTailCommand.self, AlertsDeadCommand.self]
    )
}

/// `vigil alerts dead`: the dead letters, alerts a webhook or exec sink gave up on after its retries.
struct AlertsDeadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead",
        abstract: "List the alerts a webhook or exec sink gave up on after its retries."
    )

    @OptionGroup var state: StateDirectoryOption

    @Flag(help: "One JSON object per dead letter: sink, failures, reason, dead_at and the alert.")
    var json = false

    func run() throws {
        try reportingFailures {
            let letters: [DeadLetter]
            do throws(QueueError) {
                let queue = try AlertQueue(directory: state.directory, access: .read)
                letters = try queue.deadLetters()
            } catch {
                throw Failure(error.description)
            }
            if letters.isEmpty, !json {
                print("no dead letters in \(state.directory.path)")
            }
            for letter in letters {
                print(json ? jsonLine(letter) : humanLine(letter))
            }
        }
    }

    private func humanLine(_ letter: DeadLetter) -> String {
        guard let alert = try? Alert(jsonLine: letter.line) else { return letter.line }
        return "\(AlertFormatting.localTime(letter.deadAt))  \(letter.sink) gave up after \(letter.failures) "
            + "attempts (\(letter.reason)) on alert \(alert.id): \(AlertFormatting.line(alert))"
    }

    private func jsonLine(_ letter: DeadLetter) -> String {
        struct Line: Encodable {
            let sink: String
            let failures: Int
            let reason: String
            let dead_at: String
            let alert: Alert?
        }
        let line = Line(sink: letter.sink, failures: letter.failures, reason: letter.reason,
                        dead_at: AlertTime.format(letter.deadAt), alert: try? Alert(jsonLine: letter.line))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers and an alert always encode.
        return String(decoding: try! encoder.encode(line), as: UTF8.self)
    }
}
