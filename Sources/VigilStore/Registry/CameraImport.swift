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
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw Problem(description: "cannot read import file \(path): "
                          + (FileManager.default.fileExists(atPath: path) ? "not readable UTF-8 text" : "No such file or directory"))
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

    private static func csvRows(_ text: String, name: String) throws(Problem) -> [Row] {
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: true, trimFields: true)
        } catch {
            throw Problem(description: "\(name) line 1: not valid CSV: \(error)")
        }
        let header = reader.headerRow ?? []
        var rows: [Row] = []
        var line = 1
        while let values = reader.next() {
            line += 1
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
            throw Problem(description: "\(name) line \(line + 1): not valid CSV: \(error)")
        }
        return rows
    }

    private static func yamlRows(_ text: String, name: String) throws(Problem) -> [Row] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
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
                do {
                    try fields.set(field, value.string ?? value.scalar?.string)
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
