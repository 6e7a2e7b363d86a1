import Foundation

/// Per camera, at most `limit` motion events alerted in any minute (`daemon.motion_events_per_minute`).
/// Beyond it a *flood window* opens: for a minute, further events raise no `motion_started` or
/// `motion_ended`; they are counted, and the window closes into one `motion_flood` summary.
/// Plain state: the ``AlertBridge`` keeps it behind its lock.
struct MotionFloodGuard {
    /// The motion events a flood window held back.
    struct Flood: Equatable {
        /// When the first held-back event started.
        var first: Date
        /// When the last held-back event started or ended.
        var last: Date
        var events: Int
    }

    /// What to do with a camera's new motion event.
    enum Decision: Equatable {
        case alert
        /// Hold it back; `startsFlood` on the first one of a window.
        case holdBack(startsFlood: Bool)
    }

    /// The span over which events are counted, and the length of a flood window.
    static let window: TimeInterval = 60

    /// Start times of the events alerted in the last minute, by camera.
    private var alerted: [String: [Date]] = [:]
    private var floods: [String: Flood] = [:]
    /// Cameras whose open event was held back (its end is held back too).
    private var heldBackOpen: Set<String> = []

    /// A camera's motion event started at `time`.
    mutating func motionStarted(camera: String, at time: Date, limit: Int) -> Decision {
        if var flood = floods[camera] {
            flood.events += 1
            flood.last = time
            floods[camera] = flood
            heldBackOpen.insert(camera)
            return .holdBack(startsFlood: false)
        }
        var recent = alerted[camera, default: []].filter { time.timeIntervalSince($0) < Self.window }
        guard recent.count >= limit else {
            recent.append(time)
            alerted[camera] = recent
            heldBackOpen.remove(camera)
            return .alert
        }
        alerted[camera] = recent
        floods[camera] = Flood(first: time, last: time, events: 1)
        heldBackOpen.insert(camera)
        return .holdBack(startsFlood: true)
    }

    /// A camera's open motion event ended at `time`; whether its `motion_ended` is alerted.
    mutating func motionEnded(camera: String, at time: Date) -> Bool {
        guard heldBackOpen.remove(camera) != nil else { return true }
        floods[camera]?.last = time
        return false
    }

    /// Removes and returns the flood windows a minute old by `now` (all of them with `all`, at shutdown).
    mutating func closeFloods(at now: Date, all: Bool = false) -> [(camera: String, flood: Flood)] {
        let closing = floods.filter { all || now.timeIntervalSince($0.value.first) >= Self.window }
            .sorted { $0.value.first < $1.value.first }
        for (camera, _) in closing { floods[camera] = nil }
        return closing.map { ($0.key, $0.value) }
    }
}

/// Notices a *motion storm*: at least ``minimumCameras`` cameras of one municipality starting motion
/// within ``window`` seconds (a gust of rain, lightning, a power flicker). Reported once per storm:
/// again only after the condition has not held for ``quiet`` seconds.
struct MotionStormWatch {
    static let window: TimeInterval = 5
    static let minimumCameras = 4
    static let quiet: TimeInterval = 60

    /// Recent motion starts, by municipality.
    private var starts: [String: [(camera: String, time: Date)]] = [:]
    /// When each municipality's storm condition last held, while it is reported.
    private var storming: [String: Date] = [:]

    /// A camera of `municipality` started motion at `time`; the number of cameras when a new storm is to be reported.
    mutating func motionStarted(camera: String, municipality: String, at time: Date) -> Int? {
        var recent = starts[municipality, default: []].filter { time.timeIntervalSince($0.time) < Self.window }
        recent.append((camera, time))
        starts[municipality] = recent
        let cameras = Set(recent.map(\.camera)).count
        guard cameras >= Self.minimumCameras else { return nil }
        defer { storming[municipality] = time }
        if let last = storming[municipality], time.timeIntervalSince(last) < Self.quiet { return nil }
        return cameras
    }
}
