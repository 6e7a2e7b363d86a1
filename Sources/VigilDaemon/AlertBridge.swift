import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import VigilDetector
import VigilPipeline
import VigilStore

/// Turns what camera workers learn into alerts in the durable queue, and logs one line per happening.
///
/// ``publish(camera:worker:event:)`` is called synchronously on the workers' threads: the producer's
/// blocking `enqueue` waits a bounded time for the commit, so a full or slow disk never stalls a
/// camera's decode loop for long. Its service loop enqueues with the async `enqueue`, which holds
/// no thread of the cooperative pool while the commit is slow. Keeps each worker's open motion event
/// id, shared by its `motion_started` and `motion_ended` (two workers of one camera, one stopping and
/// its replacement, never share one), and saves the event's snapshot under that id before the
/// `motion_ended` alert names it. Each alert queued becomes its camera's last alert on the status
/// board and counts in `vigil_alerts_total{kind}`.
///
/// Floods and storms: a camera's motion events beyond `motionEventsPerMinute` in a minute are held
/// back and summed up in one `motion_flood` alert per flood window (see ``MotionFloodGuard``); many
/// cameras of one municipality starting motion together are logged once as a storm. As a service it
/// closes flood windows when their minute is over, and all of them when the group shuts down (after
/// the cameras: place it before the supervisor in the group).
public final class AlertBridge: Service, Sendable {
    private let queue: any AlertProducer
    private let snapshots: SnapshotStore?
    private let logger: Logger
    private let motionEventsPerMinute: @Sendable () -> Int
    private let clock: @Sendable () -> Date
    private let board: CameraStatusBoard?
    private let state = Mutex<State>(State())

    /// A camera's worker: the camera id and the supervisor's number for the worker.
    private struct WorkerKey: Hashable {
        let camera: String
        let worker: Int
    }

    /// What the bridge remembers between events.
    private struct State {
        /// Each worker's open motion event id.
        var openEvents: [WorkerKey: String] = [:]
        var floods = MotionFloodGuard()
        var storms = MotionStormWatch()
    }

    /// Without `snapshots`, snapshots the workers took are dropped. `motionEventsPerMinute` is read
    /// for each event (it follows a config reload); `clock` gives the alerts' time (tests set it).
    public init(queue: any AlertProducer, snapshots: SnapshotStore? = nil,
                motionEventsPerMinute: @escaping @Sendable () -> Int,
                clock: @escaping @Sendable () -> Date = { Date() }, board: CameraStatusBoard? = nil, logger: Logger) {
        self.queue = queue
        self.board = board
        self.snapshots = snapshots
        self.motionEventsPerMinute = motionEventsPerMinute
        self.clock = clock
        self.logger = logger
    }

    /// Closes flood windows whose minute is over, each second, until the group shuts down; then all.
    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await closeFloods()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
        await closeFloods(all: true)
    }

    /// Writes the `motion_flood` summary of every flood window over by now (every one with `all`).
    public func closeFloods(all: Bool = false) async {
        let now = clock()
        for (camera, flood) in state.withLock({ $0.floods.closeFloods(at: now, all: all) }) {
            let span = "between \(AlertTime.format(flood.first)) and \(AlertTime.format(flood.last))"
            let alert = Alert(kind: .motionFlood, camera: camera, time: flood.first,
                              message: "\(flood.events) motion events \(span) not alerted one by one: more than "
                                  + "\(motionEventsPerMinute()) a minute (daemon.motion_events_per_minute)",
                              count: flood.events)
            logger.warning("motion flood over: \(flood.events) motion events \(span) summed up in one motion_flood alert",
                           metadata: ["camera": "\(camera)"])
            let outcome: Result<EnqueueOutcome, QueueError>
            do {
                outcome = .success(try await queue.enqueue(alert))
            } catch {
                outcome = .failure(error)
            }
            log(outcome, of: alert, metadata: ["camera": "\(camera)"])
        }
    }

    /// Records `event` of `camera` as an alert (or holds a flooding camera's motion back). `worker` is
    /// the supervisor's number for the worker that saw it: a motion event is ended only by its own worker.
    public func publish(camera record: Camera, worker: Int = 0, event: WorkerEvent) {
        let camera = record.id
        let key = WorkerKey(camera: camera, worker: worker)
        var metadata: Logger.Metadata = ["camera": "\(camera)"]
        let alert: Alert
        switch event {
        case .motionStarted(let motion, let zones):
            let id = AlertID.make()
            let now = clock()
            let (decision, storm) = state.withLock { state in
                state.openEvents[key] = id
                return (state.floods.motionStarted(camera: camera, at: now, limit: motionEventsPerMinute()),
                        state.storms.motionStarted(camera: camera, municipality: record.municipality, at: now))
            }
            if let storm {
                logger.warning("motion storm: \(storm) cameras of \(record.municipality) started motion within \(Int(MotionStormWatch.window)) s (rain, snow, lightning or a power flicker?)")
            }
            metadata["event"] = "\(id)"
            switch decision {
            case .alert: break
            case .holdBack(let startsFlood):
                if startsFlood {
                    logger.warning("motion flood: more than \(motionEventsPerMinute()) motion events in a minute; for the next minute they are summed up in one motion_flood alert", metadata: metadata)
                } else {
                    logger.info("motion started, held back by the motion flood", metadata: metadata)
                }
                return
            }
            alert = Alert(kind: .motionStarted, camera: camera, time: now, event: id, zones: zones, peakArea: motion.peakArea,
                          box: motion.box)
            logger.notice("motion started\(zones.isEmpty ? "" : " in \(zones.joined(separator: ", "))")",
                          metadata: metadata)
        case .motionEnded(let motion, let zones, let cut, let jpeg):
            let now = clock()
            let (open, alerted) = state.withLock { state in
                (state.openEvents.removeValue(forKey: key), state.floods.motionEnded(camera: camera, at: now))
            }
            guard let id = open, alerted else { return }
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
            alert = Alert(kind: .motionEnded, camera: camera, time: now, event: id, zones: zones, peakArea: motion.peakArea,
                          box: motion.box, snapshot: snapshot, framesStopped: framesStopped, message: message,
                          snapshotSHA256: snapshot == nil ? nil : jpeg.map(AlertChain.hash))
            let summary = String(format: "peak area %.4f, %.1f s", motion.peakArea, motion.end - motion.start)
            logger.notice("motion ended: \(summary)\(message.map { " (\($0))" } ?? "")", metadata: metadata)
        case .healthStarted(let kind) where kind == .moved:
            // A moment, not a state: the new view has been stable and is relearned.
            alert = Alert(kind: .cameraMoved, camera: camera,
                          message: "the view moved for good (the camera was bumped or turned); motion detection relearned it")
            logger.warning("camera view moved", metadata: metadata)
        case .healthStarted(let kind):
            guard let alertKind = kind.alertKind else {
                logger.error("the picture is \(kind.rawValue), a state without an alert kind (CameraHealthKind.mappings)",
                             metadata: metadata)
                return
            }
            alert = Alert(kind: alertKind, camera: camera, message: "the picture is \(kind.rawValue)")
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
        log(Result { () throws(QueueError) in try queue.enqueue(alert) }, of: alert, metadata: metadata)
    }

    /// Records a queued alert on the board and logs an enqueue that did not simply commit.
    private func log(_ outcome: Result<EnqueueOutcome, QueueError>, of alert: Alert, metadata: Logger.Metadata) {
        switch outcome {
        case .success(let outcome):
            recordRaised(alert)
            if outcome != .enqueued { logger.warning("alert \(alert.kind) \(outcome)", metadata: metadata) }
        case .failure(let error):
            logger.error("cannot enqueue alert \(alert.kind): \(error)", metadata: metadata)
        }
    }

    /// Makes a queued alert its camera's last alert on the board, and counts it by kind.
    private func recordRaised(_ alert: Alert) {
        board?.alertRaised(camera: alert.camera, alert: AlertSummary(id: alert.id, kind: alert.kind.rawValue, time: alert.time))
        Counter(label: "vigil_alerts_total", dimensions: [("kind", alert.kind.rawValue)]).increment()
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
    public var openEventCount: Int { state.withLock { $0.openEvents.count } }
}
