import Foundation

/// Where Vigil keeps its state: the registry and alert queue databases, the alert log, snapshots.
///
/// Chosen in this order: `--state-dir DIR`, `$VIGIL_STATE_DIR`, `$STATE_DIRECTORY` (set by systemd's
/// `StateDirectory=`; the first entry when it lists several), `/var/lib/vigil`. Created 0700 when missing.
public struct StateDirectory: Sendable, Equatable {
    public static let defaultPath = "/var/lib/vigil"

    public let url: URL
    public var path: String { url.path }

    /// Resolves the directory from an explicit option and the environment, without touching the disk.
    public init(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let candidates = [
            option,
            environment["VIGIL_STATE_DIR"],
            environment["STATE_DIRECTORY"].flatMap { $0.split(separator: ":").first.map(String.init) },
        ]
        let chosen = candidates.compactMap { $0 }.first { !$0.isEmpty } ?? Self.defaultPath
        url = URL(fileURLWithPath: chosen, isDirectory: true).standardizedFileURL
    }

    /// A file inside the directory.
    public func file(_ name: String) -> URL {
        url.appendingPathComponent(name)
    }

    /// A directory that cannot be used; `description` names it and says what to do.
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// Creates the directory (0700) when it does not exist, and checks that it is a writable directory.
    public func prepare() throws(Problem) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw Problem(description: "state directory \(path) is a file; pass --state-dir DIR")
            }
        } else {
            try checkCreatable()
            do {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw Problem(description: "cannot create state directory \(path): \(Self.reason(error)); "
                              + "pass --state-dir DIR or set VIGIL_STATE_DIR")
            }
        }
        guard access(path, W_OK | X_OK) == 0 else {
            throw Problem(description: "state directory \(path) is not writable: \(String(cString: strerror(errno))); "
                          + "pass --state-dir DIR or set VIGIL_STATE_DIR")
        }
    }

    /// Whether the directory exists and this process may read but not write it.
    public var isReadOnly: Bool {
        access(path, R_OK | X_OK) == 0 && access(path, W_OK) != 0
    }

    /// Names what stands in the way of creating the missing directory: a dangling symlink in its
    /// place, or a file where a parent directory should be.
    private func checkCreatable() throws(Problem) {
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK {
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
            throw Problem(description: "state directory \(path) is a symlink to \(target), which does not exist; "
                          + "create it or pass --state-dir DIR")
        }
        var parent = url.deletingLastPathComponent()
        while parent.path != "/" {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw Problem(description: "cannot create state directory \(path): \(parent.path) is a file, "
                                  + "not a directory; pass --state-dir DIR")
                }
                return
            }
            parent.deleteLastPathComponent()
        }
    }

    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }
}
