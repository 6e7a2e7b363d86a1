/// A registry operation that failed; `description` is one line naming the camera or field.
public struct RegistryError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }

    /// The one-line error for a camera id that is not in the registry.
    public static func unknownCamera(_ id: String) -> RegistryError {
        RegistryError("no camera '\(TextFile.quoted(id))'; 'vigil camera list' shows the registered ones")
    }
}
