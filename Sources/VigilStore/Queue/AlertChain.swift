import Crypto
import Foundation

/// The alert log's hash chain: every line carries `prev`, the SHA-256 of the line before it (the
/// last line of the previous file across logrotate), so an edited, removed, inserted or reordered
/// line breaks the chain where it happened. ``verify(files:head:)`` walks it.
public enum AlertChain {
    /// The `prev` of the first line of a log that has no line before it.
    public static let genesis = String(repeating: "0", count: 64)

    /// Lowercase hex SHA-256 of `bytes` (a line without its newline, or a snapshot's JPEG).
    public static func hash(_ bytes: some Sequence<UInt8>) -> String {
        let digest = bytes.withContiguousStorageIfAvailable { SHA256.hash(data: $0) } ?? SHA256.hash(data: Array(bytes))
        var hex = [UInt8](repeating: 0, count: 64)
        for (index, byte) in digest.enumerated() {
            hex[2 * index] = hexDigits[Int(byte >> 4)]
            hex[2 * index + 1] = hexDigits[Int(byte & 0x0F)]
        }
        return String(decoding: hex, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Where the hash of the last line written to the log at `log` is kept: `.<name>.chain` beside it.
    public static func headFile(forLog log: URL) -> URL {
        log.deletingLastPathComponent().appendingPathComponent(".\(log.lastPathComponent).chain")
    }

    /// The hash recorded for the last line written to the log at `log`, if any.
    public static func recordedHead(forLog log: URL) -> String? {
        guard let data = FileManager.default.contents(atPath: headFile(forLog: log).path) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.count == 64 && text.allSatisfy(\.isHexDigit) ? text : nil
    }

    /// The alert line `line` with its `prev` set to `previous` (keys stay sorted).
    public static func link(_ line: String, to previous: String) throws -> String {
        var alert = try Alert(jsonLine: line)
        alert.prev = previous
        return alert.jsonLine()
    }

    /// The `prev` of an alert line, found without parsing the whole line; nil when it has none.
    static func previous(in line: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard line.count >= prevKey.count + 64 else { return nil }
        // memchr for each quote, memcmp for the key: the search costs little next to the hash.
        let offset: Int? = line.withUnsafeBufferPointer { bytes in
            prevKey.withUnsafeBufferPointer { key in
                guard let base = bytes.baseAddress, let keyBase = key.baseAddress else { return nil }
                var at = 0
                while at + key.count <= bytes.count,
                    let quote = memchr(base + at, Int32(UInt8(ascii: "\"")), bytes.count - key.count + 1 - at)
                {
                    let index = base.distance(to: quote.assumingMemoryBound(to: UInt8.self))
                    if memcmp(base + index, keyBase, key.count) == 0 { return index }
                    at = index + 1
                }
                return nil
            }
        }
        guard let offset, offset + prevKey.count + 64 <= line.count else { return nil }
        let start = line.startIndex + offset + prevKey.count
        return line[start..<(start + 64)]
    }

    private static let prevKey = Array(#""prev":""#.utf8)

    /// What ``verify(files:head:)`` found.
    public struct Report: Sendable, Equatable {
        /// Lines checked, over all files.
        public var lines = 0
        /// Lines at the start written before the chain existed (by an older Vigil): not protected.
        public var unchainedLines = 0
        /// The first problem, in words naming the file and line; nil when the chain holds.
        public var problem: String?
    }

    /// A line of a log file: where it is, its bytes, its hash.
    private struct Line {
        let file: String
        let number: Int
        let bytes: ArraySlice<UInt8>
        let hash: String
        var place: String { "\(file) line \(number)" }
    }

    /// Checks the chain through `files` (oldest first, e.g. `alerts.jsonl.1` then `alerts.jsonl`).
    /// `head`, when known (the hash Vigil recorded for the last line it wrote), catches lines cut off
    /// the end. The first problem is classified as well as the chain allows: a changed line, lines
    /// removed, a line inserted, lines out of order, or a cut-short file.
    public static func verify(files: [(name: String, contents: [UInt8])], head: String? = nil) -> Report {
        var report = Report()
        var lines: [Line] = []
        for file in files {
            var number = 0
            var start = file.contents.startIndex
            while start < file.contents.endIndex {
                number += 1
                guard let end = file.contents[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                    report.problem = "\(file.name) line \(number) is cut short (no end of line): the file was truncated"
                    report.lines = lines.count
                    return report
                }
                let bytes = file.contents[start..<end]
                lines.append(Line(file: file.name, number: number, bytes: bytes, hash: hash(bytes)))
                start = end + 1
            }
        }
        report.lines = lines.count
        let chained = lines.firstIndex { previous(in: $0.bytes) != nil } ?? lines.count
        report.unchainedLines = chained
        let positions = Dictionary(lines.enumerated().map { ($0.element.hash, $0.offset) }, uniquingKeysWith: { a, _ in a })
        func link(of line: Line) -> String? { previous(in: line.bytes).map { String(decoding: $0, as: UTF8.self) } }
        for index in chained..<lines.count {
            let line = lines[index]
            guard let link = link(of: line) else {
                report.problem = "\(line.place) carries no prev hash: it was inserted or rewritten"
                return report
            }
            // The first line may continue a rotated file that was not given: nothing to compare with.
            guard index > 0 else { continue }
            let before = lines[index - 1]
            if link == before.hash { continue }
            if index >= 2, link == lines[index - 2].hash {
                report.problem = "\(before.place) was inserted: \(line.place) links to the line before it"
            } else if let target = positions[link], target > index {
                report.problem = "\(line.place) is out of order: it links to \(lines[target].place), which comes after it"
            } else {
                report.problem = "\(before.place) was changed, or lines were removed after it: \(line.place) does not "
                    + "link to it"
            }
            return report
        }
        if let head, let last = lines.last, last.hash != head {
            report.problem = "\(last.place) is not the last line Vigil wrote: lines were cut off the end of the log"
        }
        return report
    }
}
