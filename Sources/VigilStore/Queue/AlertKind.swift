/// What an alert says happened. A string in the JSON (`"kind": "motion_started"`); the known kinds are
/// static members. Kinds this build does not know (written by a newer Vigil) still decode, so that
/// `vigil alerts tail` can show them.
public struct AlertKind: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Motion began on a camera; carries the `event` id that its `motion_ended` repeats.
    public static let motionStarted = AlertKind(rawValue: "motion_started")
    /// The motion event ended (or was closed after a crash, then `interrupted` is true).
    public static let motionEnded = AlertKind(rawValue: "motion_ended")
    /// The camera delivered no frame for the configured time.
    public static let cameraOffline = AlertKind(rawValue: "camera_offline")
    /// Frames flow again after `camera_offline`.
    public static let cameraOnline = AlertKind(rawValue: "camera_online")
    /// The camera answered 401/403: the stored credentials are wrong.
    public static let credentialsRejected = AlertKind(rawValue: "credentials_rejected")
    /// The picture stopped changing at all (a hung encoder repeating one frame).
    public static let cameraFrozen = AlertKind(rawValue: "camera_frozen")
    /// The lens is covered or sprayed.
    public static let cameraCovered = AlertKind(rawValue: "camera_covered")
    /// The picture is black (lights out, IR failure).
    public static let cameraDark = AlertKind(rawValue: "camera_dark")
    /// The view was shifted or turned for good (a bumped or re-aimed camera); the detector relearned it.
    public static let cameraMoved = AlertKind(rawValue: "camera_moved")
    /// The camera answered 404: the stream path in the registry is wrong (a configuration problem).
    public static let cameraNotFound = AlertKind(rawValue: "camera_not_found")
    /// The camera's pictures arrive later than the bound behind real time (a link slower than the
    /// stream); carries `behind_seconds`.
    public static let cameraLagging = AlertKind(rawValue: "camera_lagging")

    /// A camera raised more motion events in a minute than `daemon.motion_events_per_minute`: the
    /// surplus is summed up in this one alert per flood window (`count` events, the span in `message`).
    public static let motionFlood = AlertKind(rawValue: "motion_flood")

    /// Every kind this build raises, in the order docs/alerts.md lists them.
    public static let known: [AlertKind] = [
        .motionStarted, .motionEnded, .cameraOffline, .cameraOnline, .credentialsRejected,
        .cameraFrozen, .cameraCovered, .cameraDark, .cameraNotFound, .cameraLagging, .cameraMoved, .motionFlood,
    ]

    /// Motion alerts may be coalesced into counts when the queue is full; every other kind is a
    /// health alert and is never coalesced or dropped.
    public var isMotion: Bool { self == .motionStarted || self == .motionEnded }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
