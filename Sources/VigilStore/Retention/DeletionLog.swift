import Foundation

/// One thing Vigil deleted, as recorded in the deletion log: proof of deletion for the
/// data-protection authority. Never holds a URL, credential or picture: only names and a hash.
public struct Deletion: Sendable, Equatable, Codable {
    /// What was deleted: `snapshot` (a JPEG) or `alert` (an alert kept in the queue database).
    public var kind: String
    public var camera: String
    /// The motion event, when the deleted thing belongs to one.
    public var event: String?
    /// The alert's id, for an alert.
    public var alert: String?
    /// Relative to the state directory: `snapshots/<camera>/<day>/<event>.jpg`, or `queue.sqlite`.
    public var file: String
    /// Hex SHA-256 of what was deleted: the JPEG's bytes, or the alert's JSON line.
    public var sha256: String
    /// Why: `retention 30 days` (past the camera's retention) or `size cap 1073741824 bytes`.
    public var reason: String
    /// When it was deleted (UTC, milliseconds).
    public var time: String

    public init(kind: String, camera: String, event: String?, alert: String? = nil, file: String, sha256: String,
                reason: String, time: Date) {
        self.kind = kind
        self.camera = camera
        self.event = event
        self.alert = alert
        self.file = file
        self.sha256 = sha256
        self.reason = reason
        self.time = AlertTime.format(time)
    }

    /// The record as one JSON line (sorted keys), without the newline.
    public func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings only: always encodes.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }
}

/// `<state dir>/deletions.jsonl`: one ``Deletion`` per line, appended, never rewritten.
///
/// The file is created 0640 (a data-protection officer in the daemon's group reads it) and opened
/// with `O_NOFOLLOW`: a symbolic link in its place makes recording fail, and then nothing is deleted.
/// Each record is one `write(2)`, so it survives a crash of the process as soon as it returns; the
/// file is `fsync`ed every ``syncEvery`` records and when the writer closes. One pass of a pruner
/// owns a writer: not thread-safe.
public final class DeletionLog {
    public static let fileName = "deletions.jsonl"
    /// Records written between two `fsync`s.
    public static let syncEvery = 64

    public let path: String
    private var descriptor: Int32
    private var unsynced = 0

    /// A deletion log that cannot be written; `description` names the file and why.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Opens (creating it) the log in `directory`.
    public init(directory: StateDirectory) throws(Failure) {
        path = directory.file(Self.fileName).path
        descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link; Vigil never writes through one: replace it with a file"
                : String(cString: strerror(errno))
            throw Failure(description: "cannot open the deletion log \(path): \(reason)")
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            Foundation.close(descriptor)
            throw Failure(description: "the deletion log \(path) is not a regular file; replace it with one")
        }
    }

    deinit {
        if descriptor >= 0 { _ = try? close() }
    }

    /// Appends one record (a whole line in one write).
    public func record(_ deletion: Deletion) throws(Failure) {
        let bytes = Array((deletion.jsonLine() + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw Failure(description: "cannot write the deletion log \(path): \(Self.errnoText)") }
            written += count
        }
        unsynced += 1
        if unsynced >= Self.syncEvery { try sync() }
    }

    /// Flushes what was recorded to the disk and closes the file.
    public func close() throws(Failure) {
        guard descriptor >= 0 else { return }
        defer {
            Foundation.close(descriptor)
            descriptor = -1
        }
        try sync()
    }

    private func sync() throws(Failure) {
        guard unsynced > 0 else { return }
        guard fsync(descriptor) == 0 else { throw Failure(description: "cannot sync the deletion log \(path): \(Self.errnoText)") }
        unsynced = 0
    }

    private static var errnoText: String { String(cString: strerror(errno)) }
}
