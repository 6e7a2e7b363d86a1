#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How far one session's pictures are behind real time, from the local clock against the stream's
/// timing.
///
/// Each packet's offset is the monotonic time it was read minus its presentation time. The smallest
/// offset seen is the floor: the packets that came quickest show the shortest way from camera to
/// here. A picture is `behind(media:at:)` the live stream by how much later it is seen than that
/// floor allows. The floor follows a slow clock drift between camera and host upwards, but only
/// while the stream is near the floor (so a growing backlog is never taken for drift), and starts
/// afresh when the timestamps jump (a camera restarting its clock). Value type; no allocation.
public struct LiveEdge: Sendable {
    /// A step in presentation time beyond this (either way) starts the timing afresh.
    public static let timestampJump = 10.0
    /// How quickly the floor follows a lag that grows slowly (a camera clock slower than ours), per packet.
    public static let driftFollowRate = 0.001
    /// Lags under this above the floor are treated as jitter and drift.
    public static let nearFloor = 0.5

    private var floor: Double?
    private var lastMedia: Double?

    public init() {}

    /// A packet with presentation time `media` (seconds; nil when it has none) was read at monotonic `wall` seconds.
    public mutating func packetArrived(media: Double?, at wall: Double) {
        guard let media else { return }
        defer { lastMedia = media }
        let offset = wall - media
        guard let floor, let lastMedia, abs(media - lastMedia) <= Self.timestampJump else {
            self.floor = offset
            return
        }
        if offset < floor {
            self.floor = offset
        } else if offset - floor < Self.nearFloor {
            self.floor = floor + (offset - floor) * Self.driftFollowRate
        }
    }

    /// Seconds a picture with presentation time `media` is behind the live stream when seen at
    /// monotonic `wall` seconds (0 when it is as early as the quickest packet; nil before any packet
    /// or for a picture without a timestamp).
    public func behind(media: Double?, at wall: Double) -> Double? {
        guard let media, let floor else { return nil }
        return max(0, wall - media - floor)
    }
}

/// Seconds on the monotonic clock (the clock `LiveEdge` and the camera workers measure with).
public func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
