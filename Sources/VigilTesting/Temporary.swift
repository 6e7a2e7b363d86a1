import Foundation

/// A failure in test plumbing (a helper process, a fixture), not in the code under test.
public struct SupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A file in the temporary directory, removed when released.
public final class TemporaryFile {
    public let url: URL
    public let handle: FileHandle

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw SupportError("cannot create \(url.path)")
        }
        handle = try FileHandle(forUpdating: url)
    }

    public func contents() throws -> Data {
        try Data(contentsOf: url)
    }

    deinit {
        try? handle.close()
        try? FileManager.default.removeItem(at: url)
    }
}

/// A directory in the temporary directory, removed with everything in it when released.
public final class TemporaryDirectory {
    public let url: URL
    public var path: String { url.path }

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}
