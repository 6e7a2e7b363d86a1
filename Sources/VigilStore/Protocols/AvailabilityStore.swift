import Foundation

/// How long one camera was watched on one UTC day, and for how much of that it gave no usable
/// picture: what a camera's availability is computed from.
public struct CameraDayFigures: Sendable, Equatable {
    public var camera: String
    /// The UTC day, `YYYY-MM-DD` (``UTCDay``).
    public var day: String
    /// Seconds the daemon watched the camera (it was in the registry, enabled, and the daemon ran).
    public var watchedSeconds: Double
    /// Of those, seconds without a usable picture (not streaming, or frozen, covered or dark).
    public var blindSeconds: Double

    public init(camera: String, day: String, watchedSeconds: Double, blindSeconds: Double) {
        self.camera = camera
        self.day = day
        self.watchedSeconds = watchedSeconds
        self.blindSeconds = blindSeconds
    }
}

/// Where each camera's watched and blind seconds per UTC day are kept across daemon restarts. The
/// daemon adds what it counted since its last write (at most once a minute, and on shutdown), reads
/// the recent days back when it starts, and deletes old days. Implemented by the SQLite
/// `AvailabilityFile` (module VigilSQLite).
public protocol AvailabilityStore: Sendable {
    /// Adds `figures` to what is stored (seconds of the same camera and day are summed), all in one
    /// transaction: a crash never keeps part of a write.
    func add(_ figures: [CameraDayFigures]) async throws(AvailabilityStoreError)

    /// Every camera's figures for `day` and the days after it, ordered by camera and day.
    func figures(since day: String) async throws(AvailabilityStoreError) -> [CameraDayFigures]

    /// Deletes the days before `day`; returns how many camera-days went.
    @discardableResult
    func prune(before day: String) async throws(AvailabilityStoreError) -> Int
}

/// An availability store that cannot be opened, read or written; one line naming the file.
public struct AvailabilityStoreError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
