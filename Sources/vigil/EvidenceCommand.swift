import ArgumentParser
#if canImport(CDispatch)
// Linked with SwiftNIO (VigilHTTP), Linux's `stat` resolves to CDispatch's import of <sys/stat.h>.
import CDispatch
#endif
import Foundation
import VigilCompliance
import VigilReporter
import VigilSQLite
import VigilStore

/// `vigil evidence`: keep events as evidence past their retention, and export bundles. Snapshots,
/// alert logs and holds are a machine's own files, so in fleet mode these commands run on the node that
/// watched the camera; only `export` reads the camera's record from the fleet's registry (`--config`).
struct EvidenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence",
        abstract: "Hold events as evidence (never pruned while held) and export self-contained bundles.",
        discussion: "Holds, snapshots and alert logs are this machine's (the state directory's): in fleet mode, run "
            + "these commands on the node that watched the camera (each node keeps what it recorded).",
        subcommands: [EvidenceHoldCommand.self, EvidenceReleaseCommand.self, EvidenceListCommand.self,
                      EvidenceExportCommand.self]
    )
}

/// `--alert-log PATH` repeated, oldest first, for the commands that read the whole alert log.
struct AlertLogFilesOption: ParsableArguments {
    @Option(name: .customLong("alert-log"),
            help: "An alert log file, oldest first; repeat for rotated files (default: the alert log).")
    var paths: [String] = []

    /// The files' paths and contents; a missing default log reads as empty when `optional`.
    func read(state: StateDirectory, optional: Bool = false) throws -> [(name: String, contents: [UInt8])] {
        let urls = paths.isEmpty
            ? [AlertLogLocation.resolve(option: nil, configured: nil, stateDirectory: state)]
            : paths.map { URL(fileURLWithPath: $0) }
        return try urls.compactMap { url in
            guard let data = FileManager.default.contents(atPath: url.path) else {
                if optional, paths.isEmpty, !FileManager.default.fileExists(atPath: url.path) { return nil }
                throw Failure("cannot read the alert log \(url.path): missing or unreadable")
            }
            return (url.path, Array(data))
        }
    }
}

extension StateDirectoryOption {
    /// The evidence holds, created when missing.
    func openHolds() throws -> EvidenceHolds {
        do {
            return try EvidenceHolds(directory: directory)
        } catch {
            throw Failure(error.description)
        }
    }
}

/// `vigil evidence hold EVENT --reason TEXT [--until DATE]`.
struct EvidenceHoldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold",
        abstract: "Keep an event's snapshot and alerts past the camera's retention until released (or --until).",
        discussion: "The event is looked up among the snapshots, then in the alert log. Holding a held event "
            + "again replaces its reason and end."
    )

    @Argument(help: "The event id (the 'event' of its motion alerts, the name of its snapshot).")
    var event: String
    @Option(help: "Why it is held: a case number, a request (shown by 'vigil evidence list').")
    var reason: String
    @Option(help: "The last day it is held, YYYY-MM-DD (UTC), today up to 10 years ahead (default: until released).")
    var until: String?
    @OptionGroup var logs: AlertLogFilesOption
    @OptionGroup var state: StateDirectoryOption

    func run() throws {
        try reportingFailures {
            guard AlertID.isValid(event) else {
                throw Failure("'\(TextFile.quoted(event))' is not an event id (26 characters such as "
                              + "01JDQ3V5K8M2X7R4T9B6C1N0PZ, the 'event' of a motion alert)")
            }
            let reason = self.reason.trimmingCharacters(in: .whitespaces)
            guard !reason.isEmpty, reason.count <= 1000 else {
                throw Failure("--reason must be 1...1000 characters: say why the event is held (a case number, a request)")
            }
            if let bad = reason.unicodeScalars.first(where: TextFile.isUnprintable) {
                throw Failure("--reason contains the control character U+\(String(format: "%04X", bad.value)); remove it")
            }
            let now = Date()
            if let until { try Self.checkUntil(until, now: now) }
            guard let camera = try camera(ofEvent: event) else {
                throw Failure("no event '\(event)' among the snapshots of \(state.directory.path) or in the alert log; "
                              + "'vigil alerts tail' shows recent events")
            }
            try state.openHolds().place(EvidenceHold(event: event, camera: camera, reason: reason, until: until, since: now))
            print("held event \(event) of camera \(camera)\(until.map { " until \($0)" } ?? " until released")")
        }
    }

    /// `--until`: a real date from today (UTC) to ten years ahead.
    static func checkUntil(_ text: String, now: Date) throws {
        let today = UTCDay.format(now), last = UTCDay.format(now.addingTimeInterval(3653 * 86_400))
        guard UTCDay.parse(text) != nil else {
            throw Failure("--until '\(TextFile.quoted(text))' is not a date YYYY-MM-DD")
        }
        guard text >= today, text <= last else {
            throw Failure("--until \(text) must be a day from \(today) to \(last)")
        }
    }

    /// The camera of `event`: from its snapshot's directory, else from its alerts in the alert log.
    private func camera(ofEvent event: String) throws -> String? {
        let snapshots = state.directory.file("snapshots")
        for camera in (try? FileManager.default.contentsOfDirectory(atPath: snapshots.path))?.sorted() ?? [] {
            let cameraDirectory = snapshots.appendingPathComponent(camera)
            for day in (try? FileManager.default.contentsOfDirectory(atPath: cameraDirectory.path)) ?? [] {
                var status = stat()
                let file = cameraDirectory.appendingPathComponent(day).appendingPathComponent(event + ".jpg").path
                if lstat(file, &status) == 0, status.st_mode & S_IFMT == S_IFREG { return camera }
            }
        }
        let needle = Array(#""event":"\#(event)""#.utf8)
        for log in try logs.read(state: state.directory, optional: true).reversed() {
            for line in log.contents.split(separator: UInt8(ascii: "\n")) where line.firstRange(of: needle) != nil {
                if let alert = try? Alert(jsonLine: String(decoding: line, as: UTF8.self)), alert.event == event {
                    return alert.camera
                }
            }
        }
        return nil
    }
}

/// `vigil evidence release EVENT`.
struct EvidenceReleaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Lift an event's hold: its snapshot and alerts follow the camera's retention again."
    )

    @Argument(help: "The held event's id.")
    var event: String
    @OptionGroup var state: StateDirectoryOption

    func run() throws {
        try reportingFailures {
            let released: Bool
            do throws(EvidenceHolds.Failure) {
                released = try EvidenceHolds.existing(in: state.directory)?.release(event: event) ?? false
            } catch {
                throw Failure(error.description)
            }
            guard released else {
                throw Failure("no hold on event '\(TextFile.quoted(event))'; 'vigil evidence list' shows the holds")
            }
            print("released event \(event)")
        }
    }
}

/// `vigil evidence list [--json]`.
struct EvidenceListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the evidence holds: event, camera, last day held, whether still active, reason."
    )

    @Flag(help: "One JSON object per hold: event, camera, reason, until, since, active.")
    var json = false
    @OptionGroup var state: StateDirectoryOption

    func run() throws {
        try reportingFailures {
            let holds: [EvidenceHold]
            do throws(EvidenceHolds.Failure) {
                holds = try EvidenceHolds.existing(in: state.directory)?.all() ?? []
            } catch {
                throw Failure(error.description)
            }
            let now = Date()
            if json {
                struct Line: Encodable {
                    let hold: EvidenceHold
                    let active: Bool
                    func encode(to encoder: any Encoder) throws {
                        try hold.encode(to: encoder)
                        var container = encoder.container(keyedBy: Key.self)
                        try container.encode(active, forKey: .active)
                    }
                    enum Key: String, CodingKey { case active }
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                for hold in holds {
                    print(String(decoding: try encoder.encode(Line(hold: hold, active: hold.isActive(at: now))), as: UTF8.self))
                }
                return
            }
            guard !holds.isEmpty else {
                print("no evidence holds in \(state.directory.path)")
                return
            }
            let widths = [28, 22, 12, 9, 0]
            print(tableRow(["EVENT", "CAMERA", "UNTIL", "STATUS", "REASON"], widths: widths))
            for hold in holds {
                print(tableRow([hold.event, TextFile.escaped(hold.camera), hold.until ?? "released",
                                hold.isActive(at: now) ? "held" : "expired", TextFile.escaped(hold.reason)], widths: widths))
            }
        }
    }
}

/// `vigil evidence export --camera ID --from T --to T --output DIR`.
struct EvidenceExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a self-contained, verifiable bundle of a camera's snapshots and alerts over a period.",
        discussion: "The bundle holds snapshots/, alerts.jsonl (lines as in the alert log), chain.jsonl (the hash "
            + "chain linking them to the log), camera.json (the public record) and manifest.json (SHA-256 of each "
            + "file). The same export over the same data writes the same bytes. Times: 2026-05-03, "
            + "2026-05-03T14:00 (local time) or 2026-05-03T12:00:00Z; --from included, --to excluded. With "
            + "--config naming a config with a cluster: section, the camera's record comes from the fleet's registry; "
            + "the snapshots and the alert log are always this node's."
    )

    @Option(help: "The camera's id.")
    var camera: String
    @Option(help: "Start of the period (included).")
    var from: String
    @Option(help: "End of the period (excluded).")
    var to: String
    @Option(help: "A new (or empty) directory to write the bundle into.")
    var output: String
    @OptionGroup var logs: AlertLogFilesOption
    @OptionGroup var registry: RegistryOptions

    func run() async throws {
        try await reportingFailures {
            let start = try Self.time(from, flag: "--from"), end = try Self.time(to, flag: "--to")
            guard end > start else {
                throw Failure("--to \(to) is not after --from \(from); give the end of the period after its start")
            }
            guard let record = try await registry.withRegistry(reading: true, { [camera] in try await $0.camera(id: camera) }) else {
                throw RegistryError.unknownCamera(camera)
            }
            let state = registry.state
            let bundle = EvidenceBundle(camera: record, from: start, to: end,
                                        snapshotDirectory: state.directory.file("snapshots"),
                                        alertLogs: try logs.read(state: state.directory, optional: true))
            let summary: EvidenceBundle.Summary
            do throws(EvidenceBundle.Failure) {
                summary = try bundle.write(to: URL(fileURLWithPath: output))
            } catch {
                throw Failure(error.description)
            }
            print("wrote evidence bundle \(output): \(summary.alerts) alerts, \(summary.snapshots) snapshots of camera "
                  + "\(camera) (chain proof over \(summary.chainLines) alert-log lines)")
        }
    }

    /// An absolute time (a relative one would change between two exports), 2000...2100.
    static func time(_ text: String, flag: String) throws -> Date {
        var date = AlertTime.parse(text)
        if date == nil {
            let zoned = ISO8601DateFormatter()
            date = zoned.date(from: text)
        }
        if date == nil {
            let local = DateFormatter()
            local.locale = Locale(identifier: "en_US_POSIX")
            local.timeZone = TimeZone.current
            let normalized = text.replacingOccurrences(of: "T", with: " ")
            for format in ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"] where date == nil {
                local.dateFormat = format
                if let parsed = local.date(from: normalized), local.string(from: parsed) == normalized { date = parsed }
            }
        }
        guard let date else {
            throw Failure("\(flag) '\(TextFile.quoted(text))' is not a time; use e.g. 2026-05-03, 2026-05-03T14:00 "
                          + "or 2026-05-03T12:00:00Z")
        }
        guard (946_684_800.0...4_102_444_800.0).contains(date.timeIntervalSince1970) else {
            throw Failure("\(flag) \(text) is outside 2000-01-01...2100-01-01")
        }
        return date
    }
}
