import ArgumentParser
import Foundation
import VigilPipeline
import VigilPostgres
import VigilReporter
import VigilSQLite
import VigilStore

/// `vigil alerts`: look at the alerts Vigil raised.
struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Show the alert log and the alerts a sink gave up on.",
        subcommands: [AlertsTailCommand.self, AlertsDeadCommand.self, AlertsVerifyCommand.self]
    )
}

/// `vigil alerts dead`: the dead letters, alerts a webhook or exec sink gave up on after its retries:
/// the state directory's queue, or in fleet mode (`--config` with `cluster:`) the fleet's, whose
/// webhook and exec sinks run over the cluster's alerts.
struct AlertsDeadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead",
        abstract: "List the alerts a webhook or exec sink gave up on after its retries.",
        discussion: "With --config naming a config with a cluster: section, the fleet's dead letters (the cluster "
            + "database's dead_letters table); otherwise those of the state directory's queue."
    )

    @OptionGroup var state: StateDirectoryOption

    @Option(help: "A YAML config file; with a cluster section the dead letters are the fleet's, from its database.")
    var config: String?

    @Flag(help: "One JSON object per dead letter: sink, failures, reason, dead_at and the alert.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let (letters, place) = try await deadLetters()
            if letters.isEmpty, !json {
                print("no dead letters in \(place)")
            }
            for letter in letters {
                print(json ? jsonLine(letter) : humanLine(letter))
            }
        }
    }

    /// The dead letters and where they were read (for "no dead letters in ...").
    private func deadLetters() async throws -> ([DeadLetter], String) {
        guard let urlFile = try loadConfig(config).cluster.databaseURLFile else {
            do throws(QueueError) {
                return (try AlertQueue(directory: state.directory, access: .read).deadLetters(), state.directory.path)
            } catch {
                throw Failure(error.description)
            }
        }
        return try await withClusterDatabase(urlFile: urlFile) { database in
            let store = ClusterAlertStore(database: database, deliver: false, logger: clusterCommandLogger)
            defer { store.close() }
            do throws(QueueError) {
                return (try await store.deadLetters(), "the cluster \(database.url)")
            } catch {
                throw Failure(error.description)
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

/// `vigil alerts verify`: the alert log's hash chain, line by line and across logrotate.
struct AlertsVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the alert log's hash chain: no line changed, removed, inserted or reordered.",
        discussion: "Give rotated files oldest first (--alert-log alerts.jsonl.1 --alert-log alerts.jsonl): each file's "
            + "first line must link to the last line of the one before. Exits 0 when the chain holds, 1 at the first "
            + "problem. It reads files on this machine only: in fleet mode, run it on each node for its own alert "
            + "log (and fleet-alerts.jsonl where the node delivered the fleet's alerts); the cluster database holds "
            + "no chain."
    )

    @OptionGroup var logs: AlertLogFilesOption
    @OptionGroup var state: StateDirectoryOption

    func run() throws {
        try reportingFailures {
            let files = try logs.read(state: state.directory)
            let urls = files.map { URL(fileURLWithPath: $0.name) }
            let report = AlertChain.verify(files: files, head: urls.last.flatMap { AlertChain.recordedHead(forLog: $0) })
            if let problem = report.problem { throw Failure(problem) }
            let before = report.unchainedLines > 0 ? " (the first \(report.unchainedLines) predate the chain)" : ""
            print("the alert log's chain holds: \(report.lines) lines in \(files.count) file\(files.count == 1 ? "" : "s")\(before)")
        }
    }
}
