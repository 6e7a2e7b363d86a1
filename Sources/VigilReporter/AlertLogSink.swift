import Foundation
import Logging
import VigilStore

/// The alert log: JSON Lines, one alert per line, each line written with its own `write(2)` (so it
/// is in the file as soon as it is written), `fsync` once per batch before the batch is acknowledged.
///
/// After a crash the log can end in a torn line (a write cut short): opening the file cuts it
/// off, and the alert, which was not acknowledged, is written again whole. Alerts written but not
/// acknowledged before a crash are recognised by their ids in the log's tail and not written twice.
///
/// The path is opened with `O_NOFOLLOW`, and a file that is not an alert log (not a regular file, or
/// a first line that is not an alert) is refused untouched: nothing is ever cut off someone else's file.
///
/// File state is confined to `io`, a serial queue, so blocking writes never run on the cooperative pool.
final class AlertLogSink: AlertSink, @unchecked Sendable {
    let name = "log"
    let batchLimit = 256
    /// The log is local: it is retried until it works (a full disk), never dead-lettered.
    let retry = RetryPolicy(initialBackoff: 0.5, maxBackoff: 30, deadLetterAfter: nil)
    let url: URL

    private let io = DispatchQueue(label: "vigil.alert-log")
    private let logger: Logger
    /// Confined to `io`.
    private var descriptor: Int32 = -1
    /// Ids in the log's tail when it was opened; nil once an alert not among them was written.
    private var recentIDs: Set<String>?
    /// The hash of the last line written (the next line's `prev`): from the log's tail, or across
    /// logrotate from memory or from `chainFile` (the hash of the last line written to any log file).
    private var chainHead = AlertChain.genesis
    /// `.<log name>.chain` beside the log: one line, the hash of the last line written.
    let chainFile: URL

    /// The bytes of the log's tail searched for ids already written.
    private static let tailBytes = 1 << 20

    /// Opens (creating it 0640) and repairs the log now, so that a bad path fails at startup.
    init(url: URL, logger: Logger) throws(DeliveryError) {
        self.url = url
        self.logger = logger
        chainFile = AlertChain.headFile(forLog: url)
        try openFile()
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Closes the file and opens the one now at the path (after logrotate moved it: SIGHUP), after
    /// the write under way and before the next. Safe from any thread.
    func requestReopen() {
        io.async { [self] in
            if descriptor >= 0 { close(descriptor) }
            descriptor = -1
            do {
                try openFile()
                logger.notice("reopened the alert log \(url.path)")
            } catch {
                // The next write tries again.
                logger.error("\(error)")
            }
        }
    }

    func deliver(_ alerts: [QueuedAlert]) async throws(DeliveryError) {
        try await io.perform { () throws(DeliveryError) in try self.write(alerts) }
    }

    private func write(_ alerts: [QueuedAlert]) throws(DeliveryError) {
        if descriptor < 0 { try openFile() }
        var wrote = false
        for alert in alerts {
            if recentIDs?.contains(alert.id) == true { continue }
            recentIDs = nil
            let line: String
            do {
                line = try AlertChain.link(alert.line, to: chainHead)
            } catch {
                throw DeliveryError(.invalidAlert, "alert \(alert.id) in the queue is not valid JSON: \(error)")
            }
            try append(Array((line + "\n").utf8))
            chainHead = AlertChain.hash(line.utf8)
            wrote = true
        }
        guard wrote else { return }
        if fsync(descriptor) != 0 {
            throw DeliveryError(.alertLogUnwritable, "cannot sync the alert log \(url.path): \(String(cString: strerror(errno)))")
        }
        saveChainHead()
    }

    /// Records the chain's head beside the log (written then renamed), so a new log after logrotate
    /// links to the old one's last line even across a restart. A failure costs only that link.
    private func saveChainHead() {
        let temporary = chainFile.path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard descriptor >= 0 else {
            logger.warning("cannot record the alert log's chain in \(chainFile.path): \(String(cString: strerror(errno)))")
            return
        }
        let bytes = Array((chainHead + "\n").utf8)
        let written = bytes.withUnsafeBufferPointer { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        if written != bytes.count || rename(temporary, chainFile.path) != 0 {
            unlink(temporary)
            logger.warning("cannot record the alert log's chain in \(chainFile.path)")
        }
    }

    /// Writes one whole line, or nothing: a failed write is cut back off the file.
    private func append(_ bytes: [UInt8]) throws(DeliveryError) {
        let start = lseek(descriptor, 0, SEEK_END)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBufferPointer { Foundation.write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                _ = ftruncate(descriptor, start)
                throw DeliveryError(.alertLogUnwritable, "cannot write the alert log \(url.path): \(reason)")
            }
            written += result
        }
    }

    /// Opens the log without following a symbolic link and checks that it is a Vigil alert log (empty,
    /// or starting with an alert line) before anything is cut off it.
    private func openFile() throws(DeliveryError) {
        let descriptor = open(url.path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard descriptor >= 0 else {
            if errno == ELOOP {
                throw DeliveryError(.notAnAlertLog, "the alert log \(url.path) is a symbolic link; Vigil does not write through one: "
                                    + "give the real path (--alert-log or reporter.alert_log)")
            }
            throw DeliveryError(.alertLogUnwritable, "cannot open the alert log \(url.path): \(String(cString: strerror(errno)))")
        }
        do throws(DeliveryError) {
            try checkIsAlertLog(descriptor)
            self.descriptor = descriptor
            let tail = try repairTornLine()
            let lines = tail.split(separator: UInt8(ascii: "\n"))
            recentIDs = Set(lines.compactMap { try? Alert(jsonLine: String(decoding: $0, as: UTF8.self)).id })
            if let last = lines.last {
                chainHead = AlertChain.hash(last)
            } else if let recorded = AlertChain.recordedHead(forLog: url) {
                chainHead = recorded
            }
        } catch {
            close(descriptor)
            self.descriptor = -1
            throw error
        }
    }

    /// A file that is not an alert log: named, and what to do, in one line.
    private func notAnAlertLog(_ what: String) -> DeliveryError {
        DeliveryError(.notAnAlertLog, "\(url.path) is not a Vigil alert log (\(what)); left untouched: give the alert log a file of its own")
    }

    /// Refuses anything but a regular file that is empty or starts with a whole alert line (or, after
    /// a crash during the very first write, with the torn beginning of one).
    private func checkIsAlertLog(_ descriptor: Int32) throws(DeliveryError) {
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw notAnAlertLog("not a regular file")
        }
        guard status.st_size > 0 else { return }
        var head = [UInt8](repeating: 0, count: min(Int(status.st_size), Self.firstLineBytes))
        let read = head.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard read == head.count else { throw notAnAlertLog("cannot read its first line") }
        if let end = head.firstIndex(of: UInt8(ascii: "\n")) {
            guard Self.isAlertLine(head[..<end]) else { throw notAnAlertLog("its first line is not an alert") }
        } else if status.st_size > Self.firstLineBytes || !Self.alertLineStarts.contains(where: head.starts(with:)) {
            throw notAnAlertLog("it does not start with an alert")
        }
    }

    /// The longest first line looked at; an alert line is well under 64 KiB.
    private static let firstLineBytes = 1 << 16
    /// How an alert line begins (keys are sorted: `box` comes first when present, else `camera`).
    private static let alertLineStarts = [Array(#"{"box":["#.utf8), Array(#"{"camera":""#.utf8)]

    private static func isAlertLine(_ bytes: some Collection<UInt8>) -> Bool {
        (try? Alert(jsonLine: String(decoding: bytes, as: UTF8.self))) != nil
    }

    /// Cuts off a last line without its newline when a whole alert line comes before it (or it is
    /// the file's only line, checked by ``checkIsAlertLog(_:)``); returns the (whole) lines of the log's tail.
    private func repairTornLine() throws(DeliveryError) -> [UInt8] {
        let size = Int(lseek(descriptor, 0, SEEK_END))
        let start = max(0, size - Self.tailBytes)
        var tail = [UInt8](repeating: 0, count: size - start)
        let read = tail.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(start)) }
        guard read == tail.count, !tail.isEmpty else { return [] }
        if tail.last != UInt8(ascii: "\n") {
            let keep = tail.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            if keep > 0 {
                let previousStart = tail[..<(keep - 1)].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
                guard previousStart > 0 || start == 0, Self.isAlertLine(tail[previousStart..<(keep - 1)]) else {
                    throw notAnAlertLog("its last line is cut short and the line before it is not an alert")
                }
            } else if start > 0 {
                throw notAnAlertLog("its last \(tail.count) bytes hold no line break")
            }
            if ftruncate(descriptor, off_t(start + keep)) == 0 {
                logger.warning("alert log \(url.path): removed a torn last line (\(tail.count - keep) bytes) left by a crash; its alert is written again")
                tail.removeSubrange(keep...)
            }
        }
        // The first line of a tail that does not start the file may be cut: drop it.
        if start > 0, let firstEnd = tail.firstIndex(of: UInt8(ascii: "\n")) { tail.removeSubrange(...firstEnd) }
        return tail
    }
}
