import Foundation
import VigilSQLite
import VigilStore

/// Which alerts a client asked for: `camera=` and `kind=` (each repeatable, or comma-separated).
struct AlertFilter: Sendable {
    var cameras: Set<String> = []
    var kinds: Set<String> = []

    func matches(camera: String, kind: String) -> Bool {
        (cameras.isEmpty || cameras.contains(camera)) && (kinds.isEmpty || kinds.contains(kind))
    }
}

/// The alert log read back: the record of every alert delivered, one JSON line each, in delivery order.
enum AlertHistory {
    /// The fields a filter needs, read without decoding the whole alert.
    private struct Head: Decodable {
        let id: String
        let camera: String
        let kind: String
    }

    /// The lines of `log` after alert id `since` (ids sort by time) that match `filter`: the latest
    /// `limit` of them, oldest first, with their ids. A missing log is an empty history.
    static func read(_ log: URL, after since: String?, filter: AlertFilter, limit: Int) -> [(id: String, line: String)] {
        guard let data = try? Data(contentsOf: log, options: .mappedIfSafe) else { return [] }
        let decoder = JSONDecoder()
        var kept: [(id: String, line: String)] = []
        kept.reserveCapacity(min(limit, 1024))
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: true) {
            guard let head = try? decoder.decode(Head.self, from: line) else { continue }
            if let since, head.id <= since { continue }
            guard filter.matches(camera: head.camera, kind: head.kind) else { continue }
            kept.append((head.id, publicLine(String(decoding: line, as: UTF8.self))))
            if kept.count > limit * 2 { kept.removeFirst(kept.count - limit) }
        }
        return Array(kept.suffix(limit))
    }

    /// An alert's JSON line as the HTTP surface shows it: `snapshot`, a file path inside the state
    /// directory in the log, becomes the snapshot's URL path on this server (`/api/v1/snapshots/...`).
    static func publicLine(_ line: String) -> String {
        guard line.contains("\"snapshot\":"), var alert = try? Alert(jsonLine: line) else { return line }
        alert.snapshot = alert.event.map { "/api/v1/snapshots/\(alert.camera)/\($0).jpg" }
        return alert.jsonLine()
    }
}
