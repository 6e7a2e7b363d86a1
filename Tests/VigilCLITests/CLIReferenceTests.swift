import Foundation
import Testing
import VigilTestSupport
import VigilTesting

/// A command of the binary as swift-argument-parser describes it (`--experimental-dump-help`).
private struct CommandInfo: Decodable {
    struct Argument: Decodable {
        struct Name: Decodable {
            let kind: String
            let name: String
        }

        let names: [Name]?
    }

    let commandName: String
    let arguments: [Argument]?
    let subcommands: [CommandInfo]?

    /// The long flags (`--state-dir`) it takes.
    var longFlags: [String] {
        (arguments ?? []).flatMap { $0.names ?? [] }.filter { $0.kind == "long" }.map { "--\($0.name)" }
    }
}

private struct ToolInfo: Decodable {
    let command: CommandInfo
}

@Suite("CLI reference")
struct CLIReferenceTests {
    /// Every command of the binary with its words (`vigil camera add`) and long flags.
    private static func commands() throws -> [(words: String, flags: [String])] {
        let output = try runVigil(["--experimental-dump-help"])
        try #require(output.status == 0, "\(output.stderrText)")
        let tool = try JSONDecoder().decode(ToolInfo.self, from: output.stdout)
        var found: [(String, [String])] = []
        func walk(_ command: CommandInfo, _ words: String) {
            found.append((words, command.longFlags))
            for subcommand in command.subcommands ?? [] where subcommand.commandName != "help" {
                walk(subcommand, "\(words) \(subcommand.commandName)")
            }
        }
        walk(tool.command, tool.command.commandName)
        return found
    }

    private static func reference() throws -> String {
        try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("docs/cli.md"), encoding: .utf8)
    }

    /// The long flags docs/cli.md shows (`--state-dir`, never a part of a longer one).
    private static func documentedFlags() throws -> Set<String> {
        let words = try reference().split { !($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        return Set(words.filter { $0.hasPrefix("--") && $0.dropFirst(2).first?.isLetter == true }.map(String.init))
    }

    @Test("docs/cli.md names every command and every flag the binary takes")
    func everyCommandAndFlag() throws {
        let page = try Self.reference()
        let documented = try Self.documentedFlags()
        for (words, flags) in try Self.commands() {
            #expect(page.contains(words), "docs/cli.md never shows `\(words)`")
            for flag in flags {
                #expect(documented.contains(flag), "\(words) \(flag) is not in docs/cli.md")
            }
        }
    }

    @Test("every flag docs/cli.md shows is one the binary takes")
    func noUnknownFlag() throws {
        let known = Set(try Self.commands().flatMap(\.flags))
        for flag in try Self.documentedFlags().subtracting(known).sorted() {
            Issue.record("docs/cli.md shows \(flag), which no vigil command takes")
        }
    }
}
