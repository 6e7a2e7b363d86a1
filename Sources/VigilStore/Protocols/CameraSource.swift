import Foundation

/// The camera registry as the daemon's supervisor sees it: the cameras with what it takes to
/// connect to the enabled ones, and a cheap way to tell whether anything changed.
///
/// Implemented by the SQLite `CameraRegistry` (module VigilSQLite); a shared database (PostgreSQL,
/// with camera leases) is meant to be a second implementation. Every method is async and must not
/// block the cooperative pool: an implementation runs its database work on threads of its own
/// (GRDB's dispatch queues, a connection pool's event loop). With several nodes sharing one
/// database, this is where camera leases belong: "enabled cameras" becomes "cameras this node holds".
public protocol CameraSource: Sendable {
    /// Every camera, ordered by id, enabled or not (the status board shows disabled ones as stopped),
    /// with its connect URLs. The one read that returns credentials: the caller registers them for
    /// redaction and never logs them.
    func watchList() async throws(RegistryError) -> [WatchedCamera]

    /// A value that changes whenever a camera record or its credentials change (added, updated,
    /// removed, by this process or another), and stays the same otherwise. Cheap: the supervisor
    /// reads it every couple of seconds and re-reads ``watchList()`` only when it moved.
    func generation() async throws(RegistryError) -> RegistryGeneration
}

/// What ``CameraSource/generation()`` returns: compare two for equality, nothing else.
public struct RegistryGeneration: Sendable, Hashable, CustomStringConvertible {
    public let value: Int64

    public init(_ value: Int64) {
        self.value = value
    }

    public var description: String { "generation \(value)" }
}

/// A camera of the registry and the URLs its worker connects to (when it is enabled).
public struct WatchedCamera: Sendable, Equatable {
    /// The record, without credentials.
    public let camera: Camera
    /// The main stream's URL with the credentials percent-encoded in.
    public let streamURL: String
    /// The detection sub-stream's URL with the credentials, when the camera has one.
    public let detectURL: String?
    /// The stored credentials, for the redactor; nil when the camera has none.
    public let credentials: CameraCredentials?

    public init(camera: Camera, streamURL: String, detectURL: String?, credentials: CameraCredentials?) {
        self.camera = camera
        self.streamURL = streamURL
        self.detectURL = detectURL
        self.credentials = credentials
    }

    /// The camera with its connect URLs built from its addresses and `credentials`: what every
    /// backend's ``CameraSource/watchList()`` returns for a record and its stored credentials.
    public init(camera: Camera, credentials: CameraCredentials?) {
        self.init(camera: camera, streamURL: StreamAddress.connectURL(for: camera.streamURL, with: credentials),
                  detectURL: camera.detectURL.map { StreamAddress.connectURL(for: $0, with: credentials) },
                  credentials: credentials)
    }

    /// What the detector reads: the sub-stream when there is one, else the main stream.
    public var analysedURL: String { detectURL ?? streamURL }
}

/// The whole registry, for the commands that edit it (`vigil camera`, `vigil register import`) and
/// for the contract tests every backend passes. No method returns a password: only
/// ``CameraSource/watchList()`` joins the credentials in.
public protocol CameraStore: CameraSource {
    /// Every camera, enabled or not, ordered by id.
    func cameras() async throws(RegistryError) -> [Camera]
    func camera(id: String) async throws(RegistryError) -> Camera?
    /// Whether credentials are stored for the camera (never the credentials themselves).
    func hasCredentials(cameraID: String) async throws(RegistryError) -> Bool
    /// The stored user name, for display (the password is never returned for display).
    func username(cameraID: String) async throws(RegistryError) -> String?
    /// Adds cameras (and their credentials) all or nothing; an existing id fails the whole call.
    func add(_ entries: [(camera: Camera, credentials: CameraCredentials?)]) async throws(RegistryError)
    /// Replaces a camera's record; `credentials` replaces the stored ones when given (`.some(nil)`
    /// removes them). An unknown id fails.
    func update(_ camera: Camera, credentials: CameraCredentials??) async throws(RegistryError)
    /// Removes a camera and its credentials. An unknown id fails.
    func remove(id: String) async throws(RegistryError)
}
