import Foundation

/// The JPEG snapshots of motion events, `<directory>/<camera>/<YYYY-MM-DD>/<event id>.jpg` (UTC date),
/// and their retention by age and total size.
///
/// Directories are created 0750 and files 0640. A snapshot is written under a temporary name,
/// flushed and renamed, so a reader never sees a partial JPEG. Holds no mutable state: any thread.
public struct SnapshotStore: Sendable {
    /// Usually `<state dir>/snapshots`.
    public let directory: URL
    /// Snapshots older than this are removed by `prune`.
    public let maxAge: Duration
    /// `prune` removes the oldest snapshots until the rest take at most this many bytes.
    public let maxBytes: Int

    public init(directory: URL, maxAge: Duration, maxBytes: Int) {
        self.directory = directory
        self.maxAge = maxAge
        self.maxBytes = maxBytes
    }

    /// A snapshot that could not be written; `description` says where and why (e.g. "No space left on device").
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Writes `jpeg` as the snapshot of `event` of `camera`, taken at `time`; returns its path.
    public func save(_ jpeg: [UInt8], camera: String, event: String, at time: Date = Date()) throws(Failure) -> String {
        let day = directory.appendingPathComponent(camera).appendingPathComponent(Self.dayName(time))
        do {
            try FileManager.default.createDirectory(at: day, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o750])
        } catch {
            throw Failure(description: "cannot create \(day.path): \(StateDirectory.reason(error))")
        }
        let path = day.appendingPathComponent("\(event).jpg").path
        let temporary = day.appendingPathComponent(".\(event).jpg.tmp").path
        if let problem = Self.write(jpeg, to: temporary) ?? (rename(temporary, path) == 0 ? nil : "rename: \(Self.errnoText)") {
            unlink(temporary)
            throw Failure(description: "cannot write \(path): \(problem)")
        }
        return path
    }

    /// Writes and flushes a new 0640 file; returns what failed, or nil.
    private static func write(_ bytes: [UInt8], to path: String) -> String? {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { return errnoText }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return errnoText }
            written += count
        }
        return fsync(descriptor) == 0 ? nil : errnoText
    }

    private static var errnoText: String { String(cString: strerror(errno)) }

    /// The UTC date of `time` as `YYYY-MM-DD`, the name of its day directory.
    static func dayName(_ time: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: time)
    }

    /// What a pruning pass did.
    public struct Pruning: Sendable, Equatable {
        public var removedFiles = 0
        public var removedBytes = 0
        public var keptFiles = 0
        public var keptBytes = 0

        public init(removedFiles: Int = 0, removedBytes: Int = 0, keptFiles: Int = 0, keptBytes: Int = 0) {
            self.removedFiles = removedFiles
            self.removedBytes = removedBytes
            self.keptFiles = keptFiles
            self.keptBytes = keptBytes
        }
    }

    /// Removes every file older than `maxAge`, then the oldest ones until the rest fit in `maxBytes`,
    /// then the day directories left empty (except today's, which a camera may be about to write in).
    /// Files it cannot remove are counted as kept; a missing directory is nothing to prune.
    @discardableResult
    public func prune(now: Date = Date()) -> Pruning {
        let keys: [URLResourceKey] = [.isRegularFileKey, .contentModificationDateKey, .fileSizeKey]
        var files: [(url: URL, modified: Date, size: Int)] = []
        var days: [URL] = []
        let walk = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: keys)
        while let url = walk?.nextObject() as? URL {
            guard let values = try? url.resourceValues(forKeys: Set(keys)) else { continue }
            if values.isRegularFile == true {
                files.append((url, values.contentModificationDate ?? now, values.fileSize ?? 0))
            } else if url.pathComponents.count == directory.pathComponents.count + 2 {
                days.append(url)
            }
        }
        files.sort { $0.modified < $1.modified }
        var result = Pruning(keptFiles: files.count, keptBytes: files.reduce(0) { $0 + $1.size })
        let oldest = now.addingTimeInterval(-Double(maxAge.components.seconds))
        for file in files where file.modified < oldest || result.keptBytes > maxBytes {
            guard (try? FileManager.default.removeItem(at: file.url)) != nil else { continue }
            result.removedFiles += 1
            result.removedBytes += file.size
            result.keptFiles -= 1
            result.keptBytes -= file.size
        }
        let today = Self.dayName(now)
        for day in days where day.lastPathComponent != today {
            if (try? FileManager.default.contentsOfDirectory(atPath: day.path))?.isEmpty == true {
                try? FileManager.default.removeItem(at: day)
            }
        }
        return result
    }
}
