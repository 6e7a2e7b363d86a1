import Foundation
import VigilStore

/// The cameras added, removed and changed between two published registers, by camera id.
public struct RegisterDiff: Sendable, Equatable {
    /// One field's value before and after, as it appears in the JSON register (`null` for absent).
    public struct FieldChange: Sendable, Equatable {
        public let old: String
        public let new: String
    }

    /// One camera whose public record differs.
    public struct Change: Sendable, Equatable {
        public let id: String
        /// Field name -> its change.
        public let fields: [String: FieldChange]
    }

    /// A register that cannot be read; `description` names the file.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let added: [String]
    public let removed: [String]
    public let changed: [Change]

    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

    /// Compares the `register.json` of two publications (directories) or two JSON registers (files).
    public init(old: String, new: String) throws(Failure) {
        self.init(before: try Self.records(at: old), after: try Self.records(at: new))
    }

    /// Compares a publication (or JSON register) with `current`, the registry's public cameras now:
    /// what `vigil register publish` would change.
    public init(old: String, current: PublicRegister) throws(Failure) {
        let data: Data
        do {
            data = try current.render(.json)
        } catch {
            throw Failure(description: "cannot render the current register: \(error)")
        }
        self.init(before: try Self.records(at: old), after: try Self.records(in: data, file: "the current register"))
    }

    private init(before: [String: [String: String]], after: [String: [String: String]]) {
        added = after.keys.filter { before[$0] == nil }.sorted()
        removed = before.keys.filter { after[$0] == nil }.sorted()
        changed = after.keys.sorted().compactMap { id in
            guard let was = before[id], let now = after[id] else { return nil }
            var fields: [String: FieldChange] = [:]
            for key in Set(was.keys).union(now.keys) {
                let old = was[key] ?? "null", new = now[key] ?? "null"
                if old != new { fields[key] = FieldChange(old: old, new: new) }
            }
            return fields.isEmpty ? nil : Change(id: id, fields: fields)
        }
    }

    /// One line per difference: `+ id`, `- id`, `~ id field: old -> new`.
    public var lines: [String] {
        added.map { "+ \($0)" } + removed.map { "- \($0)" }
            + changed.flatMap { change in
                change.fields.sorted { $0.key < $1.key }.map { field, value in
                    "~ \(change.id) \(field): \(value.old) -> \(value.new)"
                }
            }
    }

    /// Each camera's public record as field -> JSON text of its value, by id.
    private static func records(at path: String) throws(Failure) -> [String: [String: String]] {
        var isDirectory: ObjCBool = false
        let file = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
            ? URL(fileURLWithPath: path).appending(path: "register.json").path : path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw Failure(description: "cannot read \(file): missing or unreadable")
        }
        return try records(in: data, file: file)
    }

    private static func records(in data: Data, file: String) throws(Failure) -> [String: [String: String]] {
        guard let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw Failure(description: "\(file) is not a JSON register (a list of cameras)")
        }
        var records: [String: [String: String]] = [:]
        for entry in list {
            guard let id = entry["id"] as? String else {
                throw Failure(description: "\(file): a camera without an id")
            }
            records[id] = entry.mapValues(Self.text)
        }
        return records
    }

    private static func text(_ value: Any) -> String {
        if value is NSNull { return "null" }
        if let string = value as? String { return string }
        if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) {
            return String(decoding: data, as: UTF8.self)
        }
        return "\(value)"
    }
}
