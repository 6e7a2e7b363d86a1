import Foundation
import VigilDetector

/// What a camera worker tells the daemon. The daemon turns these into alerts in the durable queue;
/// the worker itself knows nothing of queues or sinks.
public enum WorkerEvent: Sendable {
    /// A motion event was confirmed (the camera's next `motionEnded` closes it).
    case motionStarted(MotionEvent, zones: [String])
    /// The motion event under way ended; `cut` says why when the motion was not seen to end.
    /// `snapshot` is a JPEG of its peak frame with its box drawn, when snapshots are on and encoding worked.
    case motionEnded(MotionEvent, zones: [String], cut: EventCut?, snapshot: [UInt8]?)
    /// The picture became frozen, covered or dark.
    case healthStarted(CameraHealthKind)
    /// The picture is fine again.
    case healthEnded(CameraHealthKind)
    /// The pictures keep falling further behind the live stream than the bound (see `LagMonitor`);
    /// `behindSeconds` is how far behind they were.
    case lagging(behindSeconds: Double)
    /// After `lagging`, the pictures stayed within the bound for `LagMonitor.clearAfter`.
    case caughtUp
    /// No frame for the offline threshold.
    case offline(reason: String)
    /// Frames flow again after `offline`.
    case online
    /// The camera refused the credentials (401/403); retried only rarely.
    case credentialsRejected(reason: String)
    /// The camera has no stream at the configured path (404); retried only rarely.
    case notFound(reason: String)
}

/// Why a motion event ended without its motion being seen to end: it ends at the last analysed frame.
public enum EventCut: Sendable, Equatable {
    /// The stream broke, or the worker stopped.
    case streamLost
    /// No frame was analysed for longer than the event gap (a link flap, a skip to the live edge).
    case framesStopped(seconds: Double)
}
