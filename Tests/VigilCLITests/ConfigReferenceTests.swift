import Foundation
import Testing
import VigilDetector
import VigilPipeline
import VigilTestSupport

/// One part of the config file as the loader reads it: its keys (the loader's own lists), the defaults
/// it starts from (encoded under the same keys), and how to write a config that sets one of its keys.
struct ConfigSection: Sendable {
    /// The section as docs/configuration.md names it in a heading: `detector`, `daemon.cameras`, ...
    let name: String
    let keys: [String]
    /// The section's defaults, encoded with the loader's coding keys; nil when none apply (the
    /// defaults live elsewhere, such as a camera's timing falling back to the daemon's).
    let defaults: (any Encodable & Sendable)?
    /// A whole config file setting `key` to `value` in this section (with any other key the section requires).
    let config: @Sendable (_ key: String, _ value: String) -> String

    /// Every section of the config file and the keys the loader accepts in it.
    static let all: [ConfigSection] = [
        ConfigSection(name: "detector", keys: CameraDetectionSettings.keys, defaults: CameraDetectionSettings()) {
            "detector:\n  \($0): \($1)\n"
        },
        ConfigSection(name: "detector.zones", keys: DetectionZone.keys, defaults: nil) { key, value in
            let required = ["name": "z", "polygon": "[[0, 0], [10, 0], [0, 10]]"].filter { $0.key != key }
            let fields = required.sorted { $0.key < $1.key }.map { "      \($0.key): \($0.value)\n" }.joined()
            return "detector:\n  zones:\n    - \(key): \(value)\n\(fields)"
        },
        ConfigSection(name: "daemon", keys: DaemonSettings.keys, defaults: DaemonSettings()) {
            "daemon:\n  \($0): \($1)\n"
        },
        ConfigSection(name: "daemon.cameras", keys: DaemonSettings.CameraTiming.keys, defaults: nil) {
            "daemon:\n  cameras:\n    gate:\n      \($0): \($1)\n"
        },
        ConfigSection(name: "reporter", keys: ReporterSettings.keys, defaults: nil) {
            "reporter:\n  \($0): \($1)\n"
        },
        hook("reporter.webhook", target: ReporterSettings.webhookTargetKey),
        hook("reporter.exec", target: ReporterSettings.execTargetKey),
        ConfigSection(name: "http", keys: HTTPSettings.keys, defaults: HTTPSettings()) {
            "http:\n  \($0): \($1)\n"
        },
        ConfigSection(name: "cluster", keys: ClusterSettings.keys, defaults: ClusterSettings()) { key, value in
            "cluster:\n  \(key): \(value)\n" + (key == "node" ? "" : "  node: n1\n")
        },
    ]

    /// Top-level sections whose keys are another section's: `cameras.<name>` takes the `detector` keys.
    static let sharingKeys = ["cameras": "detector"]

    private static func hook(_ name: String, target: String) -> ConfigSection {
        let sink = String(name.split(separator: ".").last ?? "")
        return ConfigSection(name: name, keys: [target] + HookSettings.retryKeys,
                             defaults: HookSettings(target: "")) { key, value in
            "reporter:\n  \(sink):\n    \(key): \(value)\n" + (key == target ? "" : "    \(target): /x\n")
        }
    }
}

/// A default value as the reference shows it.
private enum DefaultValue: Decodable {
    case flag(Bool), number(Double), text(String), structured

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            self = .flag(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .text(text)
        } else {
            self = .structured
        }
    }

    /// How the reference writes it: `10`, `0.0003`, `true`, `full`; nil for lists and mappings.
    var shown: String? {
        switch self {
        case .flag(let flag): "\(flag)"
        case .number(let number): Bounds.format(number)
        case .text(let text): text
        case .structured: nil
        }
    }
}

@Suite("configuration reference")
struct ConfigReferenceTests {
    static let reference = Fixtures.projectRoot.appendingPathComponent("docs/configuration.md")

    /// The rows of each section's table in docs/configuration.md: key -> cells after the key
    /// (default, range, meaning). A section starts at a heading whose first code span is its name.
    static func documentedRows() throws -> [String: [String: [String]]] {
        let names = Set(ConfigSection.all.map(\.name))
        var rows: [String: [String: [String]]] = [:]
        var section: String?
        for line in try String(contentsOf: reference, encoding: .utf8).split(separator: "\n") {
            if line.hasPrefix("#") {
                let spans = line.split(separator: "`", omittingEmptySubsequences: false)
                section = spans.count > 2 && names.contains(String(spans[1])) ? String(spans[1]) : nil
            } else if let section, line.hasPrefix("| `") {
                let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                let key = cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
                rows[section, default: [:]][key] = cells.dropFirst().map { $0.replacingOccurrences(of: "`", with: "") }
            }
        }
        return rows
    }

    /// The range the loader states for `key` when it is set to a number far out of any range, or nil
    /// when it takes no number (a flag, a path, a list) and so states none.
    static func statedRange(_ section: ConfigSection, _ key: String) -> String? {
        do {
            _ = try VigilConfig.parse(yaml: section.config(key, "100000000000000000"), origin: "probe")
            return nil
        } catch {
            let message = error.description
            for prefix in [" \(key) must be ", ".\(key) must be "] {
                if let start = message.range(of: prefix), let end = message.range(of: " (got ", range: start.upperBound..<message.endIndex) {
                    return String(message[start.upperBound..<end.lowerBound])
                }
            }
            return nil
        }
    }

    private static func defaults(_ section: ConfigSection) throws -> [String: DefaultValue] {
        guard let defaults = section.defaults else { return [:] }
        return try JSONDecoder().decode([String: DefaultValue].self, from: JSONEncoder().encode(defaults))
    }

    @Test("every top-level section of the config file is covered by the reference check")
    func everySectionIsChecked() {
        let checked = Set(ConfigSection.all.map(\.name)).union(ConfigSection.sharingKeys.keys)
        for section in VigilConfig.sections {
            #expect(checked.contains(section),
                    "config section '\(section)' is not checked: add it to ConfigSection.all and docs/configuration.md")
        }
    }

    @Test("docs/configuration.md lists every key the loader accepts, with the loader's default and range",
          arguments: ConfigSection.all.map(\.name))
    func everyKeyWithDefaultAndRange(name: String) throws {
        let section = try #require(ConfigSection.all.first { $0.name == name })
        let rows = try Self.documentedRows()[name] ?? [:]
        let defaults = try Self.defaults(section)
        for key in section.keys {
            guard let cells = rows[key], cells.count >= 3 else {
                Issue.record("\(name).\(key) has no row (key | default | range | meaning) in docs/configuration.md")
                continue
            }
            let (documentedDefault, documentedRange) = (cells[0], cells[1])
            if let shown = defaults[key]?.shown {
                #expect(documentedDefault == shown || documentedDefault.hasPrefix("\(shown) "),
                        "\(name).\(key): the code's default is \(shown), the reference says '\(documentedDefault)'")
            }
            if let range = Self.statedRange(section, key) {
                #expect(documentedRange.contains(range),
                        "\(name).\(key): the loader accepts \(range), the reference says '\(documentedRange)'")
            } else if case .number = defaults[key] {
                Issue.record("\(name).\(key) takes a number but the loader states no range for it")
            } else if case .flag = defaults[key] {
                #expect(documentedRange.contains("true or false"), "\(name).\(key): a flag's range is 'true or false'")
            }
        }
        for key in rows.keys where !section.keys.contains(key) {
            Issue.record("docs/configuration.md documents \(name).\(key), which the loader does not accept")
        }
    }
}
