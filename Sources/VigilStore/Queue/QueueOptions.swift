import Foundation

/// How the alert queue trades speed for durability, and its bounds. The defaults suit a city's
/// cameras on one server.
public struct QueueOptions: Sendable, Equatable {
    /// When a committed alert reaches the disk.
    public enum Durability: String, Sendable, CaseIterable {
        /// `PRAGMA synchronous=FULL`: every commit is fsynced. A committed alert survives a process
        /// crash, a kernel panic and a power cut.
        case full
        /// `PRAGMA synchronous=NORMAL`: the write-ahead log is fsynced only at checkpoints. A committed
        /// alert survives a process crash (SIGKILL); the last commits can be lost on a power cut or
        /// an OS crash. Several times faster per alert.
        case normal
    }

    public var durability = Durability.full
    /// Undelivered alerts stored before the queue counts as full and starts coalescing motion alerts.
    public var maxAlerts = 100_000
    /// Size of the queue's database file (live pages) at which the queue counts as full.
    public var maxBytes = 256 << 20
    /// Undelivered motion alerts older than this (seconds) are deleted by the retention pass (unless
    /// their event is held) and recorded in the deletion log. Health alerts are kept however old they get.
    public var maxAge: TimeInterval = 7 * 86_400
    /// The longest ``AlertProducer/enqueue(_:)`` waits for its commit before returning ``EnqueueOutcome/delayed``.
    public var enqueueTimeout: TimeInterval = 0.25
    /// How long a write waits for another process's lock before it fails (and is retried).
    public var busyTimeout: TimeInterval = 5
    /// Alerts kept in memory while the database refuses writes (full disk, lock); beyond this,
    /// motion alerts of the same camera and kind are folded into counts in memory too.
    public var maxHeldInMemory = 10_000

    public init() {}
}

extension QueueOptions {
    /// A duration as the logs and the deletion log show it: "45 s", "10 min", "3 h", "7 days".
    public static func describe(_ seconds: TimeInterval) -> String {
        switch seconds {
        case ..<120: "\(Int(seconds)) s"
        case ..<7200: "\(Int(seconds / 60)) min"
        case ..<172_800: "\(Int(seconds / 3600)) h"
        default: "\(Int(seconds / 86_400)) days"
        }
    }
}
