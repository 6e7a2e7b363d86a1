import Foundation
import Testing
import VigilDetector
import VigilPipeline
import VigilTestSupport

@Suite("manual pages")
struct ManualTests {
    /// Every key the config parser accepts, by section.
    static let configKeys: [(section: String, keys: [String])] = [
        ("detector", CameraDetectionSettings.keys),
        ("zones", DetectionZone.keys),
        ("daemon", DaemonSettings.keys),
        ("daemon.cameras", DaemonSettings.CameraTiming.keys),
        ("reporter", ReporterSettings.keys + ["url_file", "command"] + HookSettings.retryKeys),
    ]

    @Test("vigil.yaml(5) documents every key the config parser accepts")
    func configManualCoversEveryKey() throws {
        let page = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("docs/man/vigil.yaml.5"),
                              encoding: .utf8)
            .replacingOccurrences(of: "\\-", with: "-")
        for (section, keys) in Self.configKeys {
            for key in keys {
                #expect(page.contains("\\fB\(key)\\fR") || page.contains(".B \(key)"),
                        "\(section).\(key) is not documented in docs/man/vigil.yaml.5")
            }
        }
    }

    @Test("--version names the version from VERSION and the git commit")
    func version() throws {
        let version = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("VERSION"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let output = try runVigil(["--version"])
        #expect(output.status == 0)
        let commit = try runProcess("/usr/bin/git", ["-C", Fixtures.projectRoot.path, "rev-parse", "--short=12", "HEAD"])
            .stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(output.stdoutText.hasPrefix("vigil \(version) (commit \(commit)"), "\(output.stdoutText)")
    }

    @Test("completion scripts for bash, zsh and fish name the subcommands", arguments: ["bash", "zsh", "fish"])
    func completions(shell: String) throws {
        let output = try runVigil(["--generate-completion-script", shell])
        #expect(output.status == 0)
        for subcommand in ["run", "replay", "camera", "register", "alerts"] {
            #expect(output.stdoutText.contains(subcommand), "\(shell) completion lacks \(subcommand)")
        }
    }
}
