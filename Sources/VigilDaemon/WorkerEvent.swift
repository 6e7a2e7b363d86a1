import Foundation
import VigilDetector

/// What a camera worker tells the daemon. The daemon turns these into alerts in the durable queue;
/// the worker itself knows nothing of queues or sinks.
public enum WorkerEvent: Sendable {
    /// A motion event was confirmed (the camera's next `motionEnded` closes it).
    case motionStarted(MotionEvent, zones: [String])
    /// The motion event under way ended; `streamLost` when the stream broke or the worker stopped during it.
    /// `snapshot` is a JPEG of its peak frame with its box drawn, when snapshots are on and encoding worked.
    case motionEnded(MotionEvent, zones: [String], streamLost: Bool, snapshot: [UInt8]?)
    /// The picture became frozen, covered or dark.
    case healthStarted(CameraHealthKind)
    /// The picture is fine again.
    case healthEnded(CameraHealthKind)
    /// No frame for the offline threshold.
    case offline(reason: String)
    /// Frames flow again after `offline`.
    case online
    /// The camera refused the credentials (401/403); retried only rarely.
    case credentialsRejected(reason: String)
    /// The camera has no stream at the configured path (404); retried only rarely.
    case notFound(reason: String)
}
