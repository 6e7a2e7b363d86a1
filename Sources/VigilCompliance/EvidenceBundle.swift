import Foundation
import VigilStore

/// A self-contained copy of what Vigil kept about one camera over a period, for a data-subject
/// request or the police: its snapshots, its alert lines exactly as in the alert log, the chain
/// proof that ties those lines to the tamper-evident log, the camera's public record, and a
/// `manifest.json` with the SHA-256 of every file.
///
/// Repeating an export over the same data writes the same bytes: files are sorted, and every time
/// in the bundle comes from the data (the period asked for, the alerts), never from the clock.
/// Nothing private goes in: the camera record is its public register entry (no URL, host,
/// credential, model or firmware), and holds (their reasons) are left out.
public struct EvidenceBundle: Sendable {
    /// The bundle layout's version, in the manifest.
    public static let format = "vigil-evidence-bundle/1"

    public let camera: Camera
    /// The period: alerts and snapshots at or after `from` and before `to`.
    public let from: Date
    public let to: Date
    /// `<state dir>/snapshots`.
    public let snapshotDirectory: URL
    /// The alert log's files, oldest first (`alerts.jsonl.1`, `alerts.jsonl`), with their contents.
    public let alertLogs: [(name: String, contents: [UInt8])]

    public init(camera: Camera, from: Date, to: Date, snapshotDirectory: URL,
                alertLogs: [(name: String, contents: [UInt8])]) {
        self.camera = camera
        self.from = from
        self.to = to
        self.snapshotDirectory = snapshotDirectory
        self.alertLogs = alertLogs
    }

    /// A bundle that cannot be written; `description` is one line saying why and what to do.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// What a written bundle holds.
    public struct Summary: Sendable, Equatable {
        public var alerts = 0
        public var snapshots = 0
        /// Lines of the alert log the chain proof covers (the exported ones and those between them).
        public var chainLines = 0
    }

    /// One line of the chain proof: a line of the alert log between the first and last exported
    /// ones, by its hash and its link to the line before; `exported` when it is in `alerts.jsonl`.
    struct Link: Encodable {
        let exported: Bool
        let prev: String?
        let sha256: String
    }

    /// Writes the bundle into `output`, which must not exist yet (its parent must) or be an empty directory.
    public func write(to output: URL) throws(Failure) -> Summary {
        let report = AlertChain.verify(files: alertLogs)
        if let problem = report.problem {
            throw Failure(description: "the alert log's chain is broken (\(problem)): the exported lines could not "
                          + "be proven; run 'vigil alerts verify' and give every rotated file with --alert-log")
        }
        let (lines, links) = alertLines()
        let snapshots = try snapshotFiles()
        var files: [(path: String, bytes: [UInt8])] = [
            ("alerts.jsonl", Array(lines.map { $0 + "\n" }.joined().utf8)),
            ("chain.jsonl", Array(links.map { Self.json($0, pretty: false) + "\n" }.joined().utf8)),
            ("camera.json", Array((Self.json(PublicRegister.Entry(camera), pretty: true) + "\n").utf8)),
            ("README.txt", Array(Self.readme.utf8)),
        ]
        files += snapshots
        files.sort { $0.path < $1.path }
        let manifest = Manifest(
            format: Self.format, camera: camera.id, from: AlertTime.format(from), to: AlertTime.format(to),
            alerts: lines.count, snapshots: snapshots.count,
            chain: links.isEmpty ? nil : Manifest.Chain(firstPrev: links[0].prev, last: links.last!.sha256,
                                                        lines: links.count),
            files: files.map { Manifest.File(path: $0.path, sha256: AlertChain.hash($0.bytes), bytes: $0.bytes.count) })
        files.append(("manifest.json", Array((Self.json(manifest, pretty: true) + "\n").utf8)))
        try prepare(output)
        for file in files {
            try Self.write(file.bytes, to: output.appendingPathComponent(file.path))
        }
        return Summary(alerts: lines.count, snapshots: snapshots.count, chainLines: links.count)
    }

    /// The camera's alert lines in the period, verbatim, and the chain proof from the first to the last.
    private func alertLines() -> (lines: [String], links: [Link]) {
        var all: [(line: String, exported: Bool)] = []
        for log in alertLogs {
            for bytes in log.contents.split(separator: UInt8(ascii: "\n")) {
                let line = String(decoding: bytes, as: UTF8.self)
                let alert = try? Alert(jsonLine: line)
                let exported = alert.map { $0.camera == camera.id && $0.time >= from && $0.time < to } ?? false
                all.append((line, exported))
            }
        }
        guard let first = all.firstIndex(where: \.exported), let last = all.lastIndex(where: \.exported) else {
            return ([], [])
        }
        let span = all[first...last]
        let links = span.map { entry in
            Link(exported: entry.exported, prev: (try? Alert(jsonLine: entry.line))?.prev,
                 sha256: AlertChain.hash(entry.line.utf8))
        }
        return (span.filter(\.exported).map(\.line), links)
    }

    /// The camera's snapshots whose event (by its id's time) is in the period, as `snapshots/<day>/<event>.jpg`.
    private func snapshotFiles() throws(Failure) -> [(path: String, bytes: [UInt8])] {
        let cameraDirectory = snapshotDirectory.appendingPathComponent(camera.id)
        var files: [(path: String, bytes: [UInt8])] = []
        for day in Self.entries(of: cameraDirectory, type: S_IFDIR) {
            for name in Self.entries(of: cameraDirectory.appendingPathComponent(day), type: S_IFREG)
            where name.hasSuffix(".jpg") && !name.hasPrefix(".") {
                guard let time = AlertID.date(of: String(name.dropLast(4))), time >= from, time < to else { continue }
                let path = cameraDirectory.appendingPathComponent(day).appendingPathComponent(name).path
                guard let bytes = SnapshotStore.contents(of: path) else {
                    throw Failure(description: "cannot read the snapshot \(path): \(String(cString: strerror(errno)))")
                }
                files.append(("snapshots/\(day)/\(name)", bytes))
            }
        }
        return files
    }

    /// Names in `directory` of entries of `type` (never a symbolic link), sorted; none when it cannot be read.
    private static func entries(of directory: URL, type: mode_t) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { name in
            var status = stat()
            return lstat(directory.appendingPathComponent(name).path, &status) == 0 && status.st_mode & S_IFMT == type
        }.sorted()
    }

    /// Creates `output` (0750), or accepts an existing empty directory; refuses anything else.
    private func prepare(_ output: URL) throws(Failure) {
        var status = stat()
        if lstat(output.path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else {
                throw Failure(description: "--output \(output.path) exists and is not a directory; give a new directory")
            }
            guard (try? FileManager.default.contentsOfDirectory(atPath: output.path))?.isEmpty == true else {
                throw Failure(description: "--output \(output.path) is not empty; give a new or empty directory")
            }
        } else if mkdir(output.path, 0o750) != 0 {
            throw Failure(description: "cannot create --output \(output.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes a new 0640 file, creating its directories (0750) inside the bundle.
    private static func write(_ bytes: [UInt8], to url: URL) throws(Failure) {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o750])
            try Data(bytes).write(to: url, options: .withoutOverwriting)
            try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: url.path)
        } catch {
            throw Failure(description: "cannot write \(url.path): \((error as NSError).localizedDescription)")
        }
    }

    /// `manifest.json`.
    struct Manifest: Encodable {
        struct Chain: Encodable {
            /// The `prev` of the first line covered: the hash of the alert-log line before it.
            let firstPrev: String?
            /// The hash of the last line covered.
            let last: String
            let lines: Int

            enum CodingKeys: String, CodingKey {
                case firstPrev = "first_prev", last, lines
            }
        }

        struct File: Encodable {
            let path: String
            let sha256: String
            let bytes: Int
        }

        let format: String
        let camera: String
        let from: String
        let to: String
        let alerts: Int
        let snapshots: Int
        let chain: Chain?
        let files: [File]
    }

    private static func json(_ value: some Encodable, pretty: Bool) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            : [.sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers and booleans only: always encodes.
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    /// How to check a bundle, for whoever receives it.
    static let readme = """
        Vigil evidence bundle (\(format))

        manifest.json  camera, period, and the SHA-256 and size of every other file
        camera.json    the camera's public register entry (where it is, who runs it, why)
        alerts.jsonl   the camera's alerts in the period, byte for byte as in Vigil's alert log
        chain.jsonl    the alert log's hash chain from the first to the last exported line: one
                       line per log line, its SHA-256, the SHA-256 of the line before it (prev),
                       and whether it is in alerts.jsonl (other cameras' lines appear only as hashes)
        snapshots/     the motion snapshots of the period, <day>/<event id>.jpg

        To check it: the SHA-256 of each file equals the manifest's (sha256sum); the SHA-256 of each
        line of alerts.jsonl is, in order, an "exported" line of chain.jsonl; every chain line's prev is
        the sha256 of the chain line before it; a snapshot's SHA-256 equals the snapshot_sha256 of its
        motion_ended alert. Against the original alert log ('vigil alerts verify'), the chain lines are
        consecutive lines of that log.

        """
}
