import Foundation

/// What may be deleted and when: each camera's retention (its registry `retention-days`), a fallback
/// for cameras the registry does not know (removed ones), and the events under an evidence hold,
/// which are never deleted while held.
public struct RetentionPolicy: Sendable, Equatable {
    /// Days each camera's snapshots and alerts are kept.
    public var days: [String: Int]
    /// Seconds kept for a camera missing from `days`.
    public var fallback: TimeInterval
    /// Events under an active evidence hold.
    public var held: Set<String>

    public init(days: [String: Int] = [:], fallback: TimeInterval = Double(Camera.defaultRetentionDays) * 86_400,
                held: Set<String> = []) {
        self.days = days
        self.fallback = fallback
        self.held = held
    }

    /// Each camera's ``Camera/effectiveRetentionDays``.
    public init(cameras: [Camera], fallback: TimeInterval, held: Set<String>) {
        self.init(days: Dictionary(cameras.map { ($0.id, $0.effectiveRetentionDays) }, uniquingKeysWith: { a, _ in a }),
                  fallback: fallback, held: held)
    }

    /// What older than `cutoff` of `camera` is past its retention, and the reason recorded for it.
    public func limit(camera: String, now: Date) -> (cutoff: Date, reason: String) {
        if let days = days[camera] {
            return (now.addingTimeInterval(-Double(days) * 86_400), "retention \(days) days")
        }
        let days = fallback / 86_400
        let shown = days == days.rounded() ? "\(Int(days))" : "\(days)"
        return (now.addingTimeInterval(-fallback), "retention \(shown) days (camera not in the registry)")
    }

    /// Whether `event` is under an evidence hold.
    public func isHeld(_ event: String?) -> Bool {
        event.map(held.contains) ?? false
    }
}
