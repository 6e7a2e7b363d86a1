import Foundation
import Testing
import VigilDetector
import VigilPipeline
import VigilTestSupport
import VigilTesting

@Suite("manual pages")
struct ManualTests {
    @Test("vigil.yaml(5) documents every key the config parser accepts")
    func configManualCoversEveryKey() throws {
        let page = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("docs/man/vigil.yaml.5"),
                              encoding: .utf8)
            .replacingOccurrences(of: "\\-", with: "-")
        for section in ConfigSection.all {
            for key in section.keys {
                #expect(page.contains("\\fB\(key)\\fR") || page.contains(".B \(key)"),
                        "\(section.name).\(key) is not documented in docs/man/vigil.yaml.5")
            }
        }
    }

    @Test("--version names the version from VERSION and a commit of this repository")
    func version() throws {
        let version = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("VERSION"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let output = try runVigil(["--version"])
        #expect(output.status == 0)
        let prefix = "vigil \(version) (commit "
        #expect(output.stdoutText.hasPrefix(prefix), "\(output.stdoutText)")
        // The commit the binary was built from (HEAD may have moved on since the build).
        let commit = output.stdoutText.dropFirst(prefix.count).prefix { $0.isHexDigit }
        #expect(commit.count == 12, "\(output.stdoutText)")
        let known = try runProcess("/usr/bin/git", ["-C", Fixtures.projectRoot.path, "cat-file", "-e", "\(commit)^{commit}"])
        #expect(known.status == 0, "\(commit) is not a commit of this repository")
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
