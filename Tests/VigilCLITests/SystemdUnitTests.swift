import Foundation
import Testing
import VigilPipeline
import VigilTestSupport
import VigilTesting

@Suite("systemd unit")
struct SystemdUnitTests {
    /// The shipped unit with ExecStart pointing at the binary under test (verify checks that it exists).
    static func unitUnderTest() throws -> (TemporaryDirectory, String) {
        let directory = try TemporaryDirectory()
        let unit = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("systemd/vigil.service"),
                              encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/vigil", with: vigilExecutable)
        let path = directory.url.appendingPathComponent("vigil.service").path
        try unit.write(toFile: path, atomically: true, encoding: .utf8)
        return (directory, path)
    }

    @Test("systemd-analyze verify prints nothing")
    func verifies() throws {
        let (directory, path) = try Self.unitUnderTest()
        let output = try runProcess("/usr/bin/systemd-analyze", ["verify", path])
        #expect(output.status == 0)
        #expect(output.stdoutText.isEmpty && output.stderrText.isEmpty, "\(output.stdoutText)\(output.stderrText)")
        _ = directory
    }

    @Test("the hardening scores an exposure of 1.5 or less")
    func exposure() throws {
        let (directory, path) = try Self.unitUnderTest()
        let output = try runProcess("/usr/bin/systemd-analyze", ["security", "--offline=true", path])
        let line = try #require(output.stdoutText.split(separator: "\n").last { $0.contains("Overall exposure level") })
        let score = try #require(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) })
        #expect(score <= 1.5, "\(line)")
        _ = directory
    }

    @Test("the sysusers file declares the static vigil user and group")
    func sysusers() throws {
        let text = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("systemd/vigil.sysusers"),
                              encoding: .utf8)
        #expect(text.contains("\ng vigil "))
        #expect(text.contains("\nu vigil "))
    }

    @Test("the unit bounds memory and tasks, and the webhook config its comment shows parses to the credential's path")
    func limitsAndCredentialComment() throws {
        let unit = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("systemd/vigil.service"), encoding: .utf8)
        let lines = unit.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.contains { $0.hasPrefix("MemoryMax=") } && lines.contains { $0.hasPrefix("TasksMax=") })
        let start = try #require(lines.firstIndex { $0.hasPrefix("# then in vigil.yaml") })
        let yaml = lines[(start + 1)...].prefix { $0.hasPrefix("#   ") }.map { String($0.dropFirst(2)) }
        let directory = try TemporaryDirectory()
        let path = directory.path + "/vigil.yaml"
        try (yaml.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let config = try VigilConfig.load(path: path)
        #expect(config.reporter.webhook?.target == "/run/credentials/vigil.service/webhook-url")
    }
}
