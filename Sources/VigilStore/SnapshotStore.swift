import Foundation

/// The JPEG snapshots of motion events, `<directory>/<camera>/<YYYY-MM-DD>/<event id>.jpg` (UTC date),
/// and their retention by age and total size.
///
/// Directories are created 0750 and files 0640. A snapshot is written under a temporary name,
/// flushed and renamed, so a reader never sees a partial JPEG. Symbolic links under `directory` are
/// never followed, neither to write nor to prune. Holds no mutable state: any thread.
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
    /// Every directory on the way is opened with `O_NOFOLLOW` (relative to the one before): a
    /// symbolic link planted anywhere under ``directory`` makes the write fail, never go elsewhere.
    public func save(_ jpeg: [UInt8], camera: String, event: String, at time: Date = Date()) throws(Failure) -> String {
        if mkdir(directory.path, 0o750) != 0, errno != EEXIST {
            throw Failure(description: "cannot create \(directory.path): \(Self.errnoText)")
        }
        var parent = open(directory.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard parent >= 0 else { throw Self.openFailure(directory.path) }
        defer { close(parent) }
        var path = directory.path
        for name in [camera, UTCDay.format(time)] {
            path += "/" + name
            if mkdirat(parent, name, 0o750) != 0, errno != EEXIST {
                throw Failure(description: "cannot create \(path): \(Self.errnoText)")
            }
            let child = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else { throw Self.openFailure(path) }
            close(parent)
            parent = child
        }
        let temporary = ".\(event).jpg.tmp", final = "\(event).jpg"
        path += "/" + final
        unlinkat(parent, temporary, 0)
        if let problem = Self.write(jpeg, to: temporary, in: parent)
            ?? (renameat(parent, temporary, parent, final) == 0 ? nil : "rename: \(Self.errnoText)") {
            unlinkat(parent, temporary, 0)
            throw Failure(description: "cannot write \(path): \(problem)")
        }
        return path
    }

    /// Why a directory on the snapshot path did not open; a symbolic link is named as such.
    private static func openFailure(_ path: String) -> Failure {
        let reason = errnoText
        var status = stat()
        if lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFLNK {
            return Failure(description: "\(path) is a symbolic link: snapshots are never written through one; "
                           + "replace it with a directory")
        }
        return Failure(description: "cannot open \(path): \(reason)")
    }

    /// Writes and flushes a new 0640 file `name` in the directory `parent`; returns what failed, or nil.
    private static func write(_ bytes: [UInt8], to name: String, in parent: Int32) -> String? {
        let descriptor = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o640)
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

    /// What a pruning pass did.
    public struct Pruning: Sendable, Equatable {
        public var removedFiles = 0
        public var removedBytes = 0
        public var keptFiles = 0
        public var keptBytes = 0
        /// Kept only because their event is under an evidence hold (counted in `keptFiles` too).
        public var heldFiles = 0
        /// Why the pass stopped early (the deletion log could not be written), nil when it did not.
        public var problem: String?

        public init(removedFiles: Int = 0, removedBytes: Int = 0, keptFiles: Int = 0, keptBytes: Int = 0,
                    heldFiles: Int = 0, problem: String? = nil) {
            self.removedFiles = removedFiles
            self.removedBytes = removedBytes
            self.keptFiles = keptFiles
            self.keptBytes = keptBytes
            self.heldFiles = heldFiles
            self.problem = problem
        }
    }

    /// Removes every file past its camera's retention (`policy`; `maxAge` for a camera it does not
    /// name), then the oldest ones until the rest fit in `maxBytes`, then the day directories left
    /// empty (except today's, which a camera may be about to write in). A file whose event is held
    /// (`policy.held`) is never removed, not even for the size cap. Each removal is recorded in
    /// `log` (file, SHA-256, reason) right after it is made; when the log cannot be written the pass
    /// stops and says so in ``Pruning/problem``. Files it cannot remove are counted as kept; a
    /// missing directory (or a symbolic link in its place) is nothing to prune. Blocks on file IO:
    /// call it from a thread of its own, not from the cooperative pool.
    @discardableResult
    public func prune(now: Date = Date(), policy: RetentionPolicy? = nil, log: DeletionLog? = nil) -> Pruning {
        let policy = policy ?? RetentionPolicy(fallback: Double(maxAge.components.seconds))
        let keys: [URLResourceKey] = [.isRegularFileKey, .isSymbolicLinkKey, .contentModificationDateKey, .fileSizeKey]
        var status = stat()
        if lstat(directory.path, &status) == 0, status.st_mode & S_IFMT == S_IFLNK { return Pruning() }
        var files: [(url: URL, modified: Date, size: Int)] = []
        var days: [URL] = []
        let walk = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: keys)
        while let url = walk?.nextObject() as? URL {
            guard let values = try? url.resourceValues(forKeys: Set(keys)) else { continue }
            // A symbolic link is never followed: what it points to is not ours to remove.
            if values.isSymbolicLink == true {
                walk?.skipDescendants()
                continue
            }
            if values.isRegularFile == true {
                files.append((url, values.contentModificationDate ?? now, values.fileSize ?? 0))
            } else if url.pathComponents.count == directory.pathComponents.count + 2 {
                days.append(url)
            }
        }
        files.sort { $0.modified < $1.modified }
        var result = Pruning(keptFiles: files.count, keptBytes: files.reduce(0) { $0 + $1.size })
        for file in files {
            let (camera, event) = owner(of: file.url)
            if policy.isHeld(event) {
                result.heldFiles += 1
                continue
            }
            let limit = policy.limit(camera: camera, now: now)
            guard file.modified < limit.cutoff || result.keptBytes > maxBytes else { continue }
            let reason = file.modified < limit.cutoff ? limit.reason : "size cap \(maxBytes) bytes"
            guard let bytes = Self.contents(of: file.url.path),
                (try? FileManager.default.removeItem(at: file.url)) != nil else { continue }
            result.removedFiles += 1
            result.removedBytes += file.size
            result.keptFiles -= 1
            result.keptBytes -= file.size
            do {
                try log?.record(Deletion(kind: "snapshot", camera: camera, event: event, file: relativePath(of: file.url),
                                         sha256: AlertChain.hash(bytes), reason: reason, time: now))
            } catch {
                result.problem = "\(error); stopped pruning snapshots"
                break
            }
        }
        let today = UTCDay.format(now)
        for day in days where day.lastPathComponent != today {
            if (try? FileManager.default.contentsOfDirectory(atPath: day.path))?.isEmpty == true {
                try? FileManager.default.removeItem(at: day)
            }
        }
        return result
    }

    /// The camera (first directory under ``directory``) and event (the JPEG's name) of a snapshot file.
    private func owner(of file: URL) -> (camera: String, event: String?) {
        let parts = Array(file.pathComponents.dropFirst(directory.pathComponents.count))
        let name = file.lastPathComponent
        let event = parts.count == 3 && name.hasSuffix(".jpg") && !name.hasPrefix(".") ? String(name.dropLast(4)) : nil
        return (parts.count > 1 ? parts[0] : "", event)
    }

    /// `file` as the deletion log names it: from the snapshot directory's name down (`snapshots/cam/day/event.jpg`).
    private func relativePath(of file: URL) -> String {
        ([directory.lastPathComponent] + file.pathComponents.dropFirst(directory.pathComponents.count))
            .joined(separator: "/")
    }

    /// A regular file's bytes, read without following a symbolic link; nil when it cannot be read.
    public static func contents(of path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
        }
    }
}
