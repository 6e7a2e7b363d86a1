import Foundation
import VigilStore

/// `<state dir>/status.json`: the daemon's status board as JSON, rewritten every second while it runs,
/// read by `vigil status` (no HTTP needed). It holds camera ids and names, states, figures and sink
/// names, never a URL or credential.
public enum StatusFile {
    public static let name = "status.json"

    /// Where the status file of a state directory is.
    public static func url(in state: StateDirectory) -> URL {
        state.file(name)
    }

    /// The snapshot as the file holds it: one JSON object (the `StatusSnapshot` field names), keys sorted,
    /// times in ISO 8601 (UTC).
    public static func encode(_ snapshot: StatusSnapshot) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(snapshot)
    }

    /// A snapshot read back from the file's contents.
    public static func decode(_ data: Data) throws -> StatusSnapshot {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(StatusSnapshot.self, from: data)
    }

    /// Writes `snapshot` atomically: a temporary file beside it, mode 0644, renamed over the old one,
    /// so a reader never sees half a file.
    public static func write(_ snapshot: StatusSnapshot, to url: URL) throws {
        let data = try encode(snapshot)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(name).\(getpid()).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: data,
                                             attributes: [.posixPermissions: 0o644]) else {
            throw StatusFileError("cannot write \(temporary.path)")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw StatusFileError("cannot replace \(url.path): \(reason)")
        }
    }
}

/// The status file cannot be written. One line naming the file.
public struct StatusFileError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
