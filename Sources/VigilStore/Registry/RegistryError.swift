/// A registry operation that failed; `description` is one line naming the camera or field, for
/// people; `code` is for programs. New codes may be added: switch with a `default`.
public struct RegistryError: Error, CustomStringConvertible, Equatable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String

        /// The state directory or the registry database cannot be opened, created or migrated.
        public static let cannotOpen = Code(description: "cannot open")
        /// There is no registry to read (read-only access never creates one).
        public static let notFound = Code(description: "not found")
        /// No camera has the id given.
        public static let unknownCamera = Code(description: "unknown camera")
        /// A camera with the id given already exists.
        public static let duplicateCamera = Code(description: "duplicate camera")
        /// SQLite failed (disk full, I/O error, locked...), or the database gave back what Vigil
        /// cannot use.
        public static let database = Code(description: "database")
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// The one-line error for a camera id that is not in the registry.
    public static func unknownCamera(_ id: String) -> RegistryError {
        RegistryError(.unknownCamera, "no camera '\(TextFile.quoted(id))'; 'vigil camera list' shows the registered ones")
    }
}
