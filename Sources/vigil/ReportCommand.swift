import ArgumentParser
import Dispatch
import Foundation
import Logging
import VigilIngest
import VigilPipeline
import VigilReporter
import VigilSQLite
import VigilStore

/// `vigil report`: the reporter alone in the foreground, delivering queued alerts until SIGTERM or
/// SIGINT (then exit 0). SIGHUP reopens the alert log.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Deliver queued alerts to the alert log, a webhook and a command until SIGTERM or SIGINT.",
        discussion: "The webhook and exec sinks can also come from the config file's reporter section; "
            + "options given here win."
    )

    @OptionGroup var log: AlertLogOption
    @OptionGroup var sinks: SinkOptions

    @Option(help: "A YAML config file; its reporter section configures the sinks.")
    var config: String?

    func run() async throws {
        try await reportingFailures {
            let configuration = try sinks.configuration(alertLog: log, settings: loadConfig(config).reporter)
            let queue: AlertQueue
            let reporter: Reporter
            do {
                queue = try AlertQueue(directory: log.state.directory, access: .deliver)
                reporter = try Reporter(queue: queue, configuration: configuration, logger: Logger(label: "vigil.report"))
            } catch {
                throw Failure("\(error)")
            }
            let signals = handleSignals(stop: [SIGTERM, SIGINT], reopen: SIGHUP, reporter: reporter)
            do throws(ReporterError) {
                try await reporter.run()
            } catch {
                throw Failure(error.description)
            }
            signals.forEach { $0.cancel() }
            queue.close()
        }
    }

    /// Signal sources that stop the reporter or reopen its log; keep them until the reporter returns.
    private func handleSignals(stop: [Int32], reopen: Int32, reporter: Reporter) -> [any DispatchSourceSignal] {
        (stop + [reopen]).map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if number == reopen { reporter.reopenAlertLog() } else { reporter.stop() }
            }
            source.resume()
            return source
        }
    }
}

/// `--webhook-url-file` and `--exec`: the reporter's sinks besides the alert log, for `vigil report`
/// and `vigil run`. Options given on the command line win over the config file's `reporter:` section.
struct SinkOptions: ParsableArguments {
    @Option(name: .customLong("webhook-url-file"), help: "A file holding the webhook URL (a secret: never printed).")
    var webhookURLFile: String?

    @Option(help: "A shell command run for each alert with the alert's JSON on stdin.")
    var exec: String?

    /// The reporter's configuration from these options and the config file's `reporter:` section.
    func configuration(alertLog: AlertLogOption, settings: ReporterSettings) throws -> Reporter.Configuration {
        Reporter.Configuration(alertLog: alertLog.url(configured: settings.alertLog),
                               webhook: try webhook(settings.webhook), exec: try execConfiguration(settings.exec))
    }

    private func webhook(_ settings: HookSettings?) throws -> WebhookConfiguration? {
        guard let path = webhookURLFile ?? settings?.target else { return nil }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw Failure("cannot read the webhook URL file \(path): \(readableReason(error))")
        }
        if !text.isEmpty { Redactor.shared.register(secret: text) }
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased()), url.host != nil else {
            throw Failure("the webhook URL file \(path) does not hold an http:// or https:// URL")
        }
        let hook = settings ?? HookSettings(target: path)
        return WebhookConfiguration(target: url, timeout: hook.timeout, retry: retryPolicy(hook))
    }

    private func execConfiguration(_ settings: HookSettings?) throws -> ExecConfiguration? {
        guard let command = exec ?? settings?.target else { return nil }
        guard !command.trimmingCharacters(in: .whitespaces).isEmpty else { throw Failure("--exec needs a command") }
        let hook = settings ?? HookSettings(target: command)
        return ExecConfiguration(target: command, timeout: hook.timeout, retry: retryPolicy(hook))
    }

    private func retryPolicy(_ hook: HookSettings) -> RetryPolicy {
        RetryPolicy(initialBackoff: hook.initialBackoff, maxBackoff: hook.maxBackoff, deadLetterAfter: hook.deadAfter)
    }
}
