import CSV
import Foundation
import Yams

/// Reads many cameras from a CSV or YAML file for `vigil camera import`.
///
/// CSV: a header row of field names (`CameraFields.names`, `_` or `-`), then one camera per row.
/// YAML: a list of mappings, or a mapping with a `cameras:` list. Every problem names the line and
/// the field; the caller adds the cameras in one transaction, so a bad file writes nothing.
public enum CameraImport {
    /// One camera's fields and the line it starts on.
    public struct Row: Sendable {
        public let line: Int
        public let fields: CameraFields
        /// Lines of single fields, where the format tells (YAML), keyed like `CameraFields.values`.
        var fieldLines: [String: Int] = [:]

        func line(of field: String) -> Int {
            fieldLines[CameraFields.canonicalName(field)] ?? line
        }
    }

    /// A problem in the import file, e.g. `cameras.csv line 7: lat '95' is not a number in -90...90`.
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public static func read(path: String) throws(Problem) -> [Row] {
        let text: String
        do {
            text = try TextFile.read(path: path, what: "import file")
        } catch {
            throw Problem(description: error.description)
        }
        let name = URL(fileURLWithPath: path).lastPathComponent
        let lowercased = path.lowercased()
        if lowercased.hasSuffix(".csv") { return try csvRows(text, name: name) }
        if lowercased.hasSuffix(".yaml") || lowercased.hasSuffix(".yml") { return try yamlRows(text, name: name) }
        throw Problem(description: "import file \(path) must end in .csv, .yaml or .yml")
    }

    /// Turns rows into validated cameras, naming the line of the first bad one.
    public static func cameras(from rows: [Row], file: String, directory: String)
        throws(Problem) -> [(camera: Camera, credentials: CameraCredentials?)]
    {
        var seen: [String: Int] = [:]
        var result: [(camera: Camera, credentials: CameraCredentials?)] = []
        for row in rows {
            do throws(CameraFields.FieldProblem) {
                let entry = try row.fields.camera(directory: directory)
                if let first = seen[entry.camera.id] {
                    throw CameraFields.FieldProblem(field: "id", message: "id '\(entry.camera.id)' already appears on line \(first)")
                }
                seen[entry.camera.id] = row.line
                result.append(entry)
            } catch {
                throw Problem(description: "\(file) line \(row.line(of: error.field)): \(error.message)")
            }
        }
        return result
    }

    /// Parses CSV text (exposed for the import fuzzer).
    public static func csvRows(_ text: String, name: String) throws(Problem) -> [Row] {
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: true, trimFields: false)
        } catch {
            throw Problem(description: "\(name) line 1: not valid CSV: \(error)")
        }
        let header = (reader.headerRow ?? []).map { $0.trimmingCharacters(in: .whitespaces) }
        var seenFields: Set<String> = []
        for field in header where !seenFields.insert(CameraFields.canonicalName(field)).inserted {
            throw Problem(description: "\(name) line 1: the header names field '\(TextFile.quoted(field))' twice")
        }
        var rows: [Row] = []
        // The line the next row starts on: a quoted field may span several lines.
        var nextLine = 1 + lineBreaks(in: reader.headerRow ?? []) + 1
        var line = nextLine
        while let rawValues = reader.next() {
            line = nextLine
            nextLine += 1 + lineBreaks(in: rawValues)
            let values = rawValues.map { $0.trimmingCharacters(in: .whitespaces) }
            if values.allSatisfy(\.isEmpty) { continue }
            guard values.count == header.count else {
                throw Problem(description: "\(name) line \(line): \(values.count) fields, the header has \(header.count)")
            }
            var fields = CameraFields()
            for (field, value) in zip(header, values) {
                do {
                    try fields.set(field, value)
                } catch {
                    throw Problem(description: "\(name) line \(line): \(error.message)")
                }
            }
            rows.append(Row(line: line, fields: fields))
        }
        if let error = reader.error {
            throw Problem(description: "\(name) line \(nextLine): not valid CSV: \(error)")
        }
        return rows
    }

    /// Line breaks inside the fields of one row (CRLF counts once).
    private static func lineBreaks(in fields: [String]) -> Int {
        fields.reduce(0) { count, field in
            count + field.unicodeScalars.reduce(into: (breaks: 0, afterCR: false)) { state, scalar in
                if scalar == "\n" && !state.afterCR || scalar == "\r" { state.breaks += 1 }
                state.afterCR = scalar == "\r"
            }.breaks
        }
    }

    /// Parses YAML text (exposed for the import fuzzer).
    public static func yamlRows(_ text: String, name: String) throws(Problem) -> [Row] {
        let root: Node?
        do {
            root = try TextFile.composeYAML(text)
        } catch {
            throw Problem(description: "\(name) is not valid YAML: \(error)")
        }
        let list = root?.sequence ?? root?.mapping?["cameras"]?.sequence
        guard let list else {
            throw Problem(description: "\(name) must be a list of cameras, or a mapping with a 'cameras:' list")
        }
        var rows: [Row] = []
        for item in list {
            let line = (item.mark?.line ?? 0)
            guard let mapping = item.mapping else {
                throw Problem(description: "\(name) line \(line): each camera must be a mapping of field: value")
            }
            var fields = CameraFields()
            var fieldLines: [String: Int] = [:]
            for (key, value) in mapping {
                let field = key.string ?? "\(key)"
                do throws(CameraFields.FieldProblem) {
                    guard value.scalar != nil else {
                        throw CameraFields.FieldProblem(field: field, message: "\(field) must be a single value")
                    }
                    try fields.set(field, TextFile.yamlString(value))
                } catch {
                    throw Problem(description: "\(name) line \(key.mark?.line ?? line): \(error.message)")
                }
                fieldLines[CameraFields.canonicalName(field)] = key.mark?.line
            }
            rows.append(Row(line: line, fields: fields, fieldLines: fieldLines))
        }
        return rows
    }
}
