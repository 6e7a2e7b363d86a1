import VigilDetector
import VigilStore

/// What a picture state of the detector becomes in the daemon: the alert raised when it starts, and
/// the condition the status board shows while it lasts (none for a moment such as `moved`).
public struct HealthKindMapping: Sendable {
    public let alert: AlertKind
    public let condition: PictureCondition?
}

extension CameraHealthKind {
    /// The one table from detector state to alert kind and board condition. A kind the detector adds
    /// must be added here (a test checks every `CameraHealthKind.all` is, with a kind in `AlertKind.known`).
    public static let mappings: [CameraHealthKind: HealthKindMapping] = [
        .frozen: HealthKindMapping(alert: .cameraFrozen, condition: .frozen),
        .covered: HealthKindMapping(alert: .cameraCovered, condition: .covered),
        .dark: HealthKindMapping(alert: .cameraDark, condition: .dark),
        .moved: HealthKindMapping(alert: .cameraMoved, condition: nil),
    ]

    /// The alert raised when the picture enters this state; nil for a kind missing from ``mappings``.
    public var alertKind: AlertKind? { Self.mappings[self]?.alert }

    /// The board's condition while the picture is in this state; nil for a moment or an unknown kind.
    public var condition: PictureCondition? { Self.mappings[self]?.condition }
}
