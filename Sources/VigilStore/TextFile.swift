import Foundation
import Yams

/// Text files written by users (the config file, import files, detection overrides) and the YAML in
/// them, read with problems reported on one line: never the file echoed back, never a long message.
public enum TextFile {
    /// The largest file read; configs and camera lists are far smaller.
    public static let maxBytes = 4 << 20

    /// A file or document that cannot be used; `description` is one line.
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// The text of the file at `path`, which the messages call `what` (`config`, `import file`).
    /// Refuses a directory, a file that is not UTF-8 text (or holds NUL bytes) and a huge file.
    public static func read(path: String, what: String) throws(Problem) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw Problem(description: "\(what) \(path) is a directory; pass a file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = String(cString: strerror(errno))
            throw Problem(description: "cannot read \(what) \(path): \(reason)")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw Problem(description: "cannot read \(what) \(path): \((error as NSError).localizedDescription)")
        }
        guard data.count <= maxBytes else {
            throw Problem(description: "\(what) \(path) is larger than \(maxBytes >> 20) MiB; is it the right file?")
        }
        guard !data.contains(0), let text = String(data: data, encoding: .utf8) else {
            throw Problem(description: "\(what) \(path) is not UTF-8 text (binary data?); pass a text file")
        }
        return text
    }

    /// The document in `text` (nil when it is empty), or a problem such as
    /// `line 3, column 9: mapping values are not allowed in this context`.
    public static func composeYAML(_ text: String) throws(Problem) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Problem(description: describe(error))
        } catch {
            throw Problem(description: String("\(error)".prefix(200)).replacingOccurrences(of: "\n", with: " "))
        }
    }

    /// `text` safe to print on one line of a terminal: control characters (newlines, escape
    /// sequences) and bidirectional overrides shown as `\n`, `\t`, `\u{1B}`.
    public static func escaped(_ text: some StringProtocol) -> String {
        guard text.unicodeScalars.contains(where: isUnprintable) else { return String(text) }
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where isUnprintable(scalar): escaped += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// A value from a user's file or command line as a problem quotes it: escaped, and cut after 60
    /// characters, so that a problem stays one short line whatever the input.
    public static func quoted(_ text: some StringProtocol) -> String {
        let shown = escaped(text.prefix(61))
        return shown.count > 60 ? shown.prefix(60) + "..." : shown
    }

    /// Control characters (newlines, escape sequences), the line and paragraph separators and
    /// bidirectional overrides, which would let text rewrite the terminal or the line it is on.
    public static func isUnprintable(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control || (0x2028...0x202E).contains(scalar.value)
            || (0x2066...0x2069).contains(scalar.value)
    }

    /// A scalar's text; nil for a YAML null (`~`, `null` or nothing) and for a list or mapping.
    public static func yamlString(_ node: Node) -> String? {
        guard let scalar = node.scalar, scalar.style != .plain || node.null == nil else { return nil }
        return scalar.string
    }

    private static func describe(_ error: YamlError) -> String {
        func short(_ text: String) -> String {
            let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
            return line.count > 200 ? line.prefix(200) + "..." : line
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let during = context.map { " (\(short($0.text)) at line \($0.mark.line))" } ?? ""
            return "line \(mark.line), column \(mark.column): \(short(problem))\(during)"
        case let .reader(problem, offset, _, _):
            return "\(short(problem))" + (offset.map { " at character \($0)" } ?? "")
        case let .duplicatedKeysInMapping(duplicates, context):
            return "line \(context.mark.line): duplicated key '\(short(duplicates.sorted().first ?? ""))'"
        default:
            return short(error.description)
        }
    }
}
