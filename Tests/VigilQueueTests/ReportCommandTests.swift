import Foundation
import Testing
import VigilTestSupport
import VigilTesting

@Suite("vigil report: bad input")
struct ReportCommandTests {
    @Test("bad state directories, webhook files, alert logs and configs give one clear line and exit 1")
    func badInput() async throws {
        let root = try TemporaryDirectory()
        let notAURL = root.path + "/not-a-url"
        try Data("hunter2-not-a-url\n".utf8).write(to: URL(fileURLWithPath: notAURL))
        let badConfig = root.path + "/bad.yaml"
        try Data("reporter:\n  webhok:\n    url_file: x\n".utf8).write(to: URL(fileURLWithPath: badConfig))
        let badRetry = root.path + "/retry.yaml"
        try Data("reporter:\n  exec:\n    command: 'true'\n    dead_after: 0\n".utf8).write(to: URL(fileURLWithPath: badRetry))
        let stateFile = root.path + "/file"
        try Data().write(to: URL(fileURLWithPath: stateFile))
        let state = root.path + "/state"
        let cases: [([String], String)] = [
            (["--state-dir", stateFile], "vigil: state directory \(stateFile) is a file; pass --state-dir DIR"),
            (["--state-dir", state, "--webhook-url-file", root.path + "/missing"],
             "vigil: cannot read the webhook URL file \(root.path)/missing: No such file or directory"),
            (["--state-dir", state, "--webhook-url-file", notAURL],
             "vigil: the webhook URL file \(notAURL) does not hold an http:// or https:// URL"),
            (["--state-dir", state, "--alert-log", root.path + "/no/such/dir/alerts.jsonl"],
             "vigil: cannot open the alert log \(root.path)/no/such/dir/alerts.jsonl: No such file or directory"),
            (["--state-dir", state, "--config", badConfig],
             "vigil: config \(badConfig) (line 2): unknown key 'reporter.webhok'; known keys: alert_log, webhook, exec"),
            (["--state-dir", state, "--config", badRetry],
             "vigil: config \(badRetry): reporter.exec.dead_after must be at least 1 (got 0)"),
        ]
        for (arguments, message) in cases {
            let output = try runVigil(["report"] + arguments)
            #expect(output.status == 1, "\(arguments)")
            #expect(output.stderrText == message + "\n")
            #expect(!output.stderrText.contains("hunter2"))
        }
    }
}
