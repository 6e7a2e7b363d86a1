import Foundation
import Synchronization
import VigilStore

/// A camera's connection, in the words `vigil status`, the HTTP API and the metrics use.
public enum CameraConnection: String, Sendable, Codable, CaseIterable {
    case connecting, streaming, backoff, offline
    case credentialsRejected = "credentials_rejected"
    case notFound = "not_found"
    /// The camera is in the registry but not watched (disabled, or its worker stopped).
    case stopped

    /// Whether the camera delivers pictures in this state.
    public var delivers: Bool { self == .streaming }
}

/// A picture condition under way on a camera: the health kinds of the detector plus lagging.
public enum PictureCondition: String, Sendable, Codable, CaseIterable {
    case frozen, covered, dark, lagging

    /// Whether the picture is unusable for detection while the condition lasts (lagging pictures still are).
    public var blinds: Bool { self != .lagging }
}

/// Conditions are JSON object keys (`"conditions": {"dark": "2026-..."}`), not an array of pairs.
extension PictureCondition: CodingKeyRepresentable {}

/// The last alert raised for a camera.
public struct AlertSummary: Sendable, Equatable, Codable {
    public var id: String
    public var kind: String
    public var time: Date

    public init(id: String, kind: String, time: Date) {
        self.id = id
        self.kind = kind
        self.time = time
    }
}

/// What one camera is doing: its connection and since when, its picture's conditions, counters that
/// survive worker restarts, its stream's figures and its last alert.
public struct CameraStatus: Sendable, Equatable, Codable {
    public let id: String
    public var name: String
    public var connection: CameraConnection
    /// When `connection` last changed.
    public var since: Date
    /// Conditions under way, each with the time it began.
    public var conditions: [PictureCondition: Date] = [:]
    /// While lagging: how far behind real time the pictures were, in seconds.
    public var behindSeconds: Double?
    /// Frames decoded.
    public var frames = 0
    /// Video packets received, and of those the ones decoded (adaptive decoding leaves quiet ones undecoded).
    public var packets = 0
    public var packetsDecoded = 0
    /// Reconnections by reason (`timeout`, `refused`, `stream_lost`, ...).
    public var reconnects: [String: Int] = [:]
    /// Seconds without a usable picture: not streaming, or frozen, covered or dark. Counts up to the
    /// last call of `CameraStatusBoard.snapshot`.
    public var blindSeconds = 0.0
    /// Pictures per second of the stream, and its size and bit rate, as last measured.
    public var framesPerSecond: Double?
    public var width: Int?
    public var height: Int?
    public var bitsPerSecond: Double?
    /// When the last picture was decoded.
    public var lastFrame: Date?
    public var lastAlert: AlertSummary?

    public init(id: String, name: String, connection: CameraConnection = .connecting, since: Date) {
        self.id = id
        self.name = name
        self.connection = connection
        self.since = since
    }

    /// Whether the camera currently gives no usable picture.
    public var isBlind: Bool {
        !connection.delivers || conditions.keys.contains { $0.blinds }
    }
}

/// One sink's delivery figures.
public struct SinkFigures: Sendable, Equatable, Codable {
    public var name: String
    /// Alerts committed to the queue and not yet delivered to this sink.
    public var backlog: Int
    /// Age of the oldest undelivered alert, in seconds; nil when nothing waits.
    public var lagSeconds: Double?
    public var deadLetters: Int
    /// While the sink's deliveries fail: how often in a row and the last reason, in one line; nil otherwise.
    public var failing: String?

    public init(name: String, backlog: Int, lagSeconds: Double? = nil, deadLetters: Int = 0, failing: String? = nil) {
        self.name = name
        self.backlog = backlog
        self.lagSeconds = lagSeconds
        self.deadLetters = deadLetters
        self.failing = failing
    }
}

/// Everything the board knows at one instant, in camera id order: what `vigil status`, the HTTP API,
/// the metrics and systemd's STATUS= line are made from.
public struct StatusSnapshot: Sendable, Equatable, Codable {
    public var taken: Date
    public var started: Date
    public var cameras: [CameraStatus]
    public var sinks: [SinkFigures]
    /// Why the alert queue is degraded, when it is.
    public var queueProblem: String?
    /// When the daemon stopped, in the last snapshot it writes on the way out (`vigil status` then says
    /// it is not running); nil while it runs.
    public var stopped: Date?
}

/// The one place every camera's state lives while the daemon runs. Workers, the alert bridge and the
/// supervisor write to it where things happen; the systemd notifier, `vigil status`, the HTTP API and
/// the metrics read snapshots of it. A camera's counters survive its worker's restarts; a camera leaves
/// the board only when it leaves the registry. All methods are thread-safe and cheap (one lock).
public final class CameraStatusBoard: Sendable {
    private struct State {
        var started: Date
        var cameras: [String: CameraStatus] = [:]
        /// Since when each blind camera has been blind and not yet counted in its `blindSeconds`.
        var blindSince: [String: Date] = [:]
        var sinks: [String: SinkFigures] = [:]
        var queueProblem: String?
        /// Watched and blind seconds per camera and UTC day, for availability.
        var book = AvailabilityBook()
    }

    private let state: Mutex<State>
    private let now: @Sendable () -> Date

    /// `now` is the clock (a test passes a manual one).
    public init(now: @escaping @Sendable () -> Date = Date.init) {
        self.now = now
        state = Mutex(State(started: now()))
    }

    /// Keeps exactly these cameras (id and name), adding new ones as `connecting` and dropping the others.
    public func retain(cameras: [(id: String, name: String)]) {
        let time = now()
        state.withLock { state in
            let wanted = Set(cameras.map(\.id))
            for id in state.cameras.keys where !wanted.contains(id) {
                state.cameras[id] = nil
                state.blindSince[id] = nil
                state.book.end(id, at: time)
            }
            for camera in cameras {
                if state.cameras[camera.id] == nil {
                    let status = CameraStatus(id: camera.id, name: camera.name, since: time)
                    state.cameras[camera.id] = status
                    state.blindSince[camera.id] = time
                    state.book.begin(camera.id, mode: AvailabilityBook.mode(of: status), at: time)
                } else {
                    state.cameras[camera.id]?.name = camera.name
                }
            }
        }
    }

    /// Sets a camera's connection; `since` moves only when it changes. A reconnection (streaming to
    /// anything else) is counted under `reason` when one is given.
    public func setConnection(_ connection: CameraConnection, camera id: String, reason: String? = nil) {
        update(camera: id) { status, time in
            guard status.connection != connection else { return }
            if status.connection == .streaming, let reason { status.reconnects[reason, default: 0] += 1 }
            status.connection = connection
            status.since = time
        }
    }

    /// Marks a picture condition as begun or ended.
    public func setCondition(_ condition: PictureCondition, _ present: Bool, camera id: String, behindSeconds: Double? = nil) {
        update(camera: id) { status, time in
            if present {
                if status.conditions[condition] == nil { status.conditions[condition] = time }
            } else {
                status.conditions[condition] = nil
            }
            if condition == .lagging { status.behindSeconds = present ? behindSeconds : nil }
        }
    }

    /// Adds to a camera's counters, and records its stream's figures when known.
    public func count(camera id: String, frames: Int = 0, packets: Int = 0, packetsDecoded: Int = 0,
                      framesPerSecond: Double? = nil, width: Int? = nil, height: Int? = nil, bitsPerSecond: Double? = nil) {
        update(camera: id) { status, time in
            status.frames += frames
            status.packets += packets
            status.packetsDecoded += packetsDecoded
            if frames > 0 { status.lastFrame = time }
            if let framesPerSecond { status.framesPerSecond = framesPerSecond }
            if let width { status.width = width }
            if let height { status.height = height }
            if let bitsPerSecond { status.bitsPerSecond = bitsPerSecond }
        }
    }

    /// Records the last alert raised for a camera.
    public func alertRaised(camera id: String, alert: AlertSummary) {
        update(camera: id) { status, _ in status.lastAlert = alert }
    }

    /// Replaces the figures of the reporter's sinks and the queue's problem, if any.
    public func setDelivery(sinks: [SinkFigures], queueProblem: String?) {
        state.withLock { state in
            state.sinks = Dictionary(sinks.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
            state.queueProblem = queueProblem
        }
    }

    /// One camera's entry as it is now (blind time counted up to the last snapshot); nil for a camera
    /// not on the board.
    public func status(of id: String) -> CameraStatus? {
        state.withLock { $0.cameras[id] }
    }

    /// The board as it is now, with blind time counted up to now.
    public func snapshot() -> StatusSnapshot {
        let time = now()
        return state.withLock { state in
            for (id, since) in state.blindSince {
                state.cameras[id]?.blindSeconds += max(0, time.timeIntervalSince(since))
                state.blindSince[id] = time
            }
            return StatusSnapshot(
                taken: time, started: state.started,
                cameras: state.cameras.values.sorted { $0.id < $1.id },
                sinks: state.sinks.values.sorted { $0.name < $1.name },
                queueProblem: state.queueProblem)
        }
    }

    // MARK: Availability

    /// Each camera's availability today and over the last seven UTC days: the days loaded with
    /// ``loadAvailability(_:)`` plus what this board counted, up to now. A camera counts as watched
    /// while it is on the board and not stopped, and as blind while ``CameraStatus/isBlind``.
    public func availability() -> [String: CameraAvailability] {
        let time = now()
        return state.withLock { $0.book.availability(at: time) }
    }

    /// Adds the figures of earlier runs (read back from the store when the daemon starts).
    public func loadAvailability(_ figures: [CameraDayFigures]) {
        state.withLock { $0.book.load(figures) }
    }

    /// What was counted since the last call, per camera and UTC day, for the store; the board forgets
    /// it as unwritten (``returnUnwrittenAvailability(_:)`` gives it back after a failed write).
    public func takeUnwrittenAvailability() -> [CameraDayFigures] {
        let time = now()
        return state.withLock { $0.book.takeUnwritten(at: time) }
    }

    /// Figures from ``takeUnwrittenAvailability()`` the store could not write, kept for the next write.
    public func returnUnwrittenAvailability(_ figures: [CameraDayFigures]) {
        state.withLock { $0.book.giveBack(figures) }
    }

    /// Applies `change` to a known camera and keeps its blind time running while it is blind.
    private func update(camera id: String, _ change: (inout CameraStatus, Date) -> Void) {
        let time = now()
        state.withLock { state in
            guard var status = state.cameras[id] else { return }
            change(&status, time)
            switch (status.isBlind, state.blindSince[id]) {
            case (true, nil):
                state.blindSince[id] = time
            case (false, let since?):
                status.blindSeconds += max(0, time.timeIntervalSince(since))
                state.blindSince[id] = nil
            default:
                break
            }
            state.book.note(id, mode: AvailabilityBook.mode(of: status), at: time)
            state.cameras[id] = status
        }
    }
}
