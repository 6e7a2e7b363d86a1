import ArgumentParser
import Foundation
import VigilDaemon
import VigilPipeline

/// `vigil status`: one screen for an operator: every camera with its state and since when, its
/// pictures per second and last alert, and each sink's backlog. Reads `status.json`, which the running
/// daemon rewrites every second; says so and exits 3 when the daemon is not running.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what the running daemon is doing: cameras, their state, fps, last alert, sink backlogs.",
        discussion: "Reads <state dir>/status.json, written every second by `vigil run`. Exits 3 when the "
            + "daemon is not running (no status file, or one older than 10 s)."
    )

    @OptionGroup var state: StateDirectoryOption

    @Flag(help: "Print the status file's JSON (the daemon's status board) instead of the table.")
    var json = false

    /// A status file older than this is the trace of a daemon that is gone.
    static let staleAfter = 10.0

    func run() throws {
        try reportingFailures {
            let url = StatusFile.url(in: state.directory)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw Failure("vigil is not running (no status file \(url.path))", exitCode: 3)
            }
            let snapshot: StatusSnapshot
            do {
                snapshot = try StatusFile.decode(data)
            } catch {
                throw Failure("cannot read the status file \(url.path): it is not a status written by vigil run")
            }
            let now = Date()
            if let stopped = snapshot.stopped {
                throw Failure("vigil is not running (stopped \(Self.ago(now.timeIntervalSince(stopped))) ago)", exitCode: 3)
            }
            let age = now.timeIntervalSince(snapshot.taken)
            guard age <= Self.staleAfter else {
                throw Failure("vigil is not running (status last written \(Self.ago(age)) ago)", exitCode: 3)
            }
            if json {
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(StatusScreen(snapshot: snapshot, now: now, colour: isatty(STDOUT_FILENO) == 1).text)
            }
        }
    }

    /// `42 s`, `12 min`, `3 h 5 min`, `2 days`.
    static func ago(_ seconds: Double) -> String {
        let whole = Int(max(0, seconds))
        switch whole {
        case ..<120: return "\(whole) s"
        case ..<3600: return "\(whole / 60) min"
        case ..<172_800: return "\(whole / 3600) h \(whole % 3600 / 60) min"
        default: return "\(whole / 86_400) days"
        }
    }
}

/// The text `vigil status` prints for a snapshot; ANSI colours on the camera states only with `colour`.
struct StatusScreen {
    let snapshot: StatusSnapshot
    let now: Date
    let colour: Bool

    var text: String {
        var lines = ["vigil running for \(StatusCommand.ago(now.timeIntervalSince(snapshot.started))), "
            + "\(snapshot.statusLine)"]
        if let problem = snapshot.queueProblem { lines.append("alert queue degraded: \(problem)") }
        lines.append("")
        let headers = ["CAMERA", "STATE", "SINCE", "FPS", "LAST ALERT"]
        let rows = snapshot.cameras.map { camera in
            [camera.id, state(of: camera), since(camera.since),
             camera.framesPerSecond.map { String(format: "%.1f", $0) } ?? "-",
             camera.lastAlert.map { "\($0.kind), \(StatusCommand.ago(now.timeIntervalSince($0.time))) ago" } ?? "-"]
        }
        lines += table([headers] + rows, colouredColumn: 1)
        if snapshot.cameras.isEmpty { lines.append("(no cameras in the registry)") }
        lines.append("")
        let sinks = snapshot.sinks.map { [$0.name, "\($0.backlog)", "\($0.deadLetters)"] }
        lines += table([["SINK", "BACKLOG", "DEAD LETTERS"]] + sinks, colouredColumn: nil)
        lines += snapshot.sinks.compactMap(\.failing)
        return lines.joined(separator: "\n")
    }

    /// `15:03:07 (42 s)` today, `2026-11-29 15:03 (2 days)` before, in the local time zone.
    private func since(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = Calendar.current.isDate(date, inSameDayAs: now) ? "HH:mm:ss" : "yyyy-MM-dd HH:mm"
        return "\(formatter.string(from: date)) (\(StatusCommand.ago(now.timeIntervalSince(date))))"
    }

    /// The connection, and the picture's conditions after it: `streaming, dark`.
    private func state(of camera: CameraStatus) -> String {
        ([camera.connection.rawValue] + PictureCondition.allCases.filter { camera.conditions[$0] != nil }.map(\.rawValue))
            .joined(separator: ", ")
    }

    /// Rows padded to their columns; the cells of `colouredColumn` (not its header) in the state's colour.
    private func table(_ rows: [[String]], colouredColumn: Int?) -> [String] {
        let widths = rows.first.map { $0.indices.map { column in rows.map { $0[column].count }.max()! + 2 } } ?? []
        return rows.enumerated().map { index, row in
            var line = tableRow(row, widths: widths)
            if colour, index > 0, let column = colouredColumn {
                let cell = row[column]
                let code = cell.hasPrefix("streaming") ? (cell.contains(",") ? "33" : "32") : "31"
                let start = widths.prefix(column).reduce(0, +)
                let prefix = String(line.prefix(start)), rest = line.dropFirst(start)
                line = prefix + "\u{1B}[\(code)m" + cell + "\u{1B}[0m" + rest.dropFirst(cell.count)
            }
            return line
        }
    }
}
