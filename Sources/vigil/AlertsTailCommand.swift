import ArgumentParser
import Foundation
#if canImport(CDispatch)
// Linked with SwiftNIO (VigilHTTP), Linux's `stat` resolves to CDispatch's import of <sys/stat.h>.
import CDispatch
#endif
import VigilPipeline
import VigilPostgres
import VigilStore

/// `vigil alerts tail`: the alert log for people, one line per alert, or its raw JSON lines.
struct AlertsTailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Show the latest alerts from the alert log (local time, camera, kind, zones, peak area).",
        discussion: "Kinds: \(AlertKind.known.map(\.rawValue).joined(separator: ", "))."
    )

    @Flag(name: .shortAndLong, help: "Keep printing alerts as they are written (stop with Ctrl-C).")
    var follow = false

    @Option(help: "Only alerts of this camera id (repeatable).")
    var camera: [String] = []

    @Option(help: "Only alerts of this kind (repeatable), e.g. motion_started or camera_offline.")
    var kind: [String] = []

    @Option(help: "Only alerts at or after TIME: 30m, 2h, 7d (ago), 14:00 (today), 2026-11-29, 2026-11-29T14:00 (local), or ISO-8601 with a zone.")
    var since: String?

    @Option(name: [.customShort("n"), .long], help: "How many of the latest matching alerts to show first (default 20; all with --since).")
    var lines: Int?

    @Flag(help: "Print the alert log's raw JSON lines.")
    var json = false

    @OptionGroup var log: AlertLogOption

    @Option(help: "A YAML config file; with a cluster section the alerts come from the fleet's database, not an alert log.")
    var config: String?

    func run() async throws {
        var cluster: String?
        try reportingFailures { cluster = try loadConfig(config).cluster.databaseURLFile }
        if let urlFile = cluster {
            try await reportingFailures {
                do {
                    try await tailCluster(urlFile: urlFile)
                } catch let error as QueueError {
                    throw Failure(error.description)
                }
            }
            return
        }
        try reportingFailures {
            let filter = try makeFilter()
            let path = log.url().path
            guard let reader = LogLineReader(path: path) else {
                throw Failure("cannot read the alert log \(path): \(String(cString: strerror(errno))); "
                              + "pass --alert-log PATH or --state-dir DIR")
            }
            let limit = lines ?? (since == nil ? 20 : Int.max)
            var latest: [String] = []
            reader.readAll { line in
                guard let shown = show(line, filter) else { return }
                latest.append(shown)
                if latest.count > limit { latest.removeFirst(latest.count - limit) }
            }
            latest.forEach { emit($0) }
            guard follow else { return }
            while true {
                Thread.sleep(forTimeInterval: 0.2)
                // What the old file got before logrotate moved it comes first.
                repeat {
                    reader.readAll { line in if let shown = show(line, filter) { emit(shown) } }
                } while reader.reopenIfReplaced()
            }
        }
    }

    /// The fleet's alerts, oldest first, from the cluster's `alerts` table; `--follow` waits on its
    /// commits (LISTEN vigil_alerts, else a poll each second).
    private func tailCluster(urlFile: String) async throws {
        let filter = try makeFilter()
        try await withClusterDatabase(urlFile: urlFile) { try await tail($0, filter) }
    }

    private func tail(_ database: ClusterDatabase, _ filter: Filter) async throws {
        let store = ClusterAlertStore(database: database, deliver: false, logger: clusterCommandLogger)
        defer { store.close() }
        let limit = lines ?? (since == nil ? 20 : Int.max)
        var position: Int64 = 0, latest: [String] = []
        while true {
            let batch = try await store.alerts(after: position, limit: 1000)
            guard let last = batch.last else { break }
            position = last.sequence
            latest += batch.compactMap { show($0.line, filter) }
            if latest.count > limit { latest.removeFirst(latest.count - limit) }
        }
        latest.forEach { emit($0) }
        while follow {
            let commits = store.commitCount
            let batch = try await store.alerts(after: position, limit: 1000)
            guard let last = batch.last else {
                await store.waitForCommit(after: commits, timeout: .seconds(1))
                continue
            }
            position = last.sequence
            batch.forEach { if let shown = show($0.line, filter) { emit(shown) } }
        }
    }

    private struct Filter {
        var cameras: Set<String>
        var kinds: Set<AlertKind>
        var since: Date?

        func matches(_ alert: Alert) -> Bool {
            (cameras.isEmpty || cameras.contains(alert.camera)) && (kinds.isEmpty || kinds.contains(alert.kind))
                && (since.map { alert.time >= $0 } ?? true)
        }
    }

    private func makeFilter() throws -> Filter {
        let kinds = try kind.map { name in
            let kind = AlertKind(rawValue: name)
            guard AlertKind.known.contains(kind) else {
                throw Failure("unknown --kind '\(name)'; kinds: \(AlertKind.known.map(\.rawValue).joined(separator: ", "))")
            }
            return kind
        }
        var start: Date?
        if let since {
            guard let date = AlertFormatting.parseSince(since) else {
                throw Failure("--since '\(since)' is not a time; use e.g. 30m, 2h, 7d, 14:00, 2026-11-29 or 2026-11-29T14:00")
            }
            start = date
        }
        if let lines, lines < 0 { throw Failure("--lines must not be negative (got \(lines))") }
        return Filter(cameras: Set(camera), kinds: Set(kinds), since: start)
    }

    /// The text to print for a log line, or nil when the filter leaves it out.
    private func show(_ line: String, _ filter: Filter) -> String? {
        guard let alert = try? Alert(jsonLine: line) else {
            printError("vigil: skipped a line of the alert log that is not an alert: \(line.prefix(80))")
            return nil
        }
        guard filter.matches(alert) else { return nil }
        return json ? line : AlertFormatting.line(alert)
    }

    private func emit(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}

/// Reads whole lines from a growing file, holding back a last line until its newline arrives,
/// and starts over when the file was replaced (logrotate) or truncated.
final class LogLineReader {
    private let path: String
    private var handle: FileHandle
    private var offset: UInt64 = 0
    private var partial = Data()

    init?(path: String) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        self.path = path
        self.handle = handle
    }

    /// Calls `body` with each complete line added since the last call, up to the end of the file.
    func readAll(_ body: (String) -> Void) {
        while let data = try? handle.read(upToCount: 1 << 20), !data.isEmpty {
            offset += UInt64(data.count)
            partial.append(data)
            guard let lastNewline = partial.lastIndex(of: 0x0A) else { continue }
            let complete = partial[partial.startIndex..<lastNewline]
            partial = Data(partial[(lastNewline + 1)...])
            for line in complete.split(separator: 0x0A) { body(String(decoding: line, as: UTF8.self)) }
        }
    }

    /// Starts from the beginning of the file now at `path` if it is another file or was truncated;
    /// true when it did.
    func reopenIfReplaced() -> Bool {
        var current = stat(), opened = stat()
        guard stat(path, &current) == 0, fstat(handle.fileDescriptor, &opened) == 0 else { return false }
        let replaced = current.st_ino != opened.st_ino || current.st_dev != opened.st_dev
        guard replaced || UInt64(current.st_size) < offset, let fresh = FileHandle(forReadingAtPath: path) else {
            return false
        }
        try? handle.close()
        handle = fresh
        offset = 0
        partial = Data()
        return true
    }
}
