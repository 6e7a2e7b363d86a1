import Foundation
import Logging
import Synchronization
import VigilDetector
import VigilStore

/// Turns what camera workers learn into alerts in the durable queue, and logs one line per happening.
///
/// Called synchronously on the workers' threads: `AlertQueue.enqueue` waits a bounded time for the
/// commit, so a full or slow disk never stalls a camera's decode loop for long. Keeps each camera's
/// open motion event id, shared by its `motion_started` and `motion_ended`, and saves the event's
/// snapshot under that id before the `motion_ended` alert names it.
public final class AlertBridge: Sendable {
    private let queue: AlertQueue
    private let snapshots: SnapshotStore?
    private let logger: Logger
    private let openEvents = Mutex<[String: String]>([:])

    /// Without `snapshots`, snapshots the workers took are dropped.
    public init(queue: AlertQueue, snapshots: SnapshotStore? = nil, logger: Logger) {
        self.queue = queue
        self.snapshots = snapshots
        self.logger = logger
    }

    /// Records `event` of `camera` as an alert.
    public func publish(camera: String, event: WorkerEvent) {
        var metadata: Logger.Metadata = ["camera": "\(camera)"]
        let alert: Alert
        switch event {
        case .motionStarted(let motion, let zones):
            let id = AlertID.make()
            openEvents.withLock { $0[camera] = id }
            alert = Alert(kind: .motionStarted, camera: camera, event: id, zones: zones, peakArea: motion.peakArea,
                          box: motion.box)
            metadata["event"] = "\(id)"
            logger.notice("motion started\(zones.isEmpty ? "" : " in \(zones.joined(separator: ", "))")",
                          metadata: metadata)
        case .motionEnded(let motion, let zones, let cut, let jpeg):
            guard let id = openEvents.withLock({ $0.removeValue(forKey: camera) }) else { return }
            metadata["event"] = "\(id)"
            let snapshot = jpeg.flatMap { save($0, camera: camera, event: id, metadata: metadata) }
            var message: String?
            var framesStopped = false
            switch cut {
            case .streamLost: message = "the stream ended during the event"
            case .framesStopped(let seconds):
                framesStopped = true
                message = String(format: "frames stopped for %.1f s during the event: it ends at the last analysed frame",
                                 seconds)
            case nil: break
            }
            alert = Alert(kind: .motionEnded, camera: camera, event: id, zones: zones, peakArea: motion.peakArea,
                          box: motion.box, snapshot: snapshot, framesStopped: framesStopped, message: message)
            let summary = String(format: "peak area %.4f, %.1f s", motion.peakArea, motion.end - motion.start)
            logger.notice("motion ended: \(summary)\(message.map { " (\($0))" } ?? "")", metadata: metadata)
        case .healthStarted(let kind) where kind == .moved:
            // A moment, not a state: the new view has been stable and is relearned.
            alert = Alert(kind: .cameraMoved, camera: camera,
                          message: "the view moved for good (the camera was bumped or turned); motion detection relearned it")
            logger.warning("camera view moved", metadata: metadata)
        case .healthStarted(let kind):
            alert = Alert(kind: AlertKind(rawValue: "camera_\(kind.rawValue)"), camera: camera,
                          message: "the picture is \(kind.rawValue)")
            logger.warning("camera picture is \(kind.rawValue)", metadata: metadata)
        case .healthEnded(let kind) where kind == .moved:
            return
        case .healthEnded(let kind):
            logger.notice("camera picture is no longer \(kind.rawValue)", metadata: metadata)
            return
        case .lagging(let behind):
            let late = String(format: "%.1f s", behind)
            alert = Alert(kind: .cameraLagging, camera: camera, behindSeconds: (behind * 10).rounded() / 10, message: """
                pictures arrive \(late) behind real time and keep falling behind: the link is slower than the \
                stream; lower the camera's bitrate or give a detection sub-stream with --detect-url
                """)
            logger.warning("camera lagging: pictures \(late) behind real time, the link is slower than the stream",
                           metadata: metadata)
        case .caughtUp:
            logger.notice("camera caught up: its pictures are within the lag bound again", metadata: metadata)
            return
        case .offline(let reason):
            alert = Alert(kind: .cameraOffline, camera: camera, message: reason)
            logger.warning("camera offline: \(reason)", metadata: metadata)
        case .online:
            alert = Alert(kind: .cameraOnline, camera: camera, message: "frames flow again")
            logger.notice("camera online", metadata: metadata)
        case .credentialsRejected(let reason):
            alert = Alert(kind: .credentialsRejected, camera: camera,
                          message: "credentials rejected by the camera (\(reason)); retrying rarely until its record changes")
            logger.error("credentials rejected by the camera: \(reason)", metadata: metadata)
        case .notFound(let reason):
            alert = Alert(kind: .cameraNotFound, camera: camera,
                          message: "the camera has no stream at the configured path (\(reason)); fix its url")
            logger.error("no stream at the configured path: \(reason)", metadata: metadata)
        }
        do {
            let outcome = try queue.enqueue(alert)
            if outcome != .enqueued {
                logger.warning("alert \(alert.kind) \(outcome)", metadata: metadata)
            }
        } catch {
            logger.error("cannot enqueue alert \(alert.kind): \(error)", metadata: metadata)
        }
    }

    /// Saves an event's snapshot; returns its path, or nil (logged) when it cannot be written.
    private func save(_ jpeg: [UInt8], camera: String, event: String, metadata: Logger.Metadata) -> String? {
        guard let snapshots else { return nil }
        do {
            return try snapshots.save(jpeg, camera: camera, event: event)
        } catch {
            logger.error("snapshot not saved, the alert goes out without it: \(error)", metadata: metadata)
            return nil
        }
    }

    /// Events still open, by camera (for shutdown checks).
    public var openEventCount: Int { openEvents.withLock { $0.count } }
}
