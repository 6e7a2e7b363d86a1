import VigilDetector
import VigilIngest
import VigilStore

/// The daemon's timing knobs (`daemon:` in the config file). Deadlines and the offline threshold
/// can also be set per camera under `daemon.cameras.<id>`. Encodable so that the defaults can be
/// listed under their config keys (the configuration reference is checked against them).
public struct DaemonSettings: Sendable, Equatable, Codable {
    /// Seconds allowed for connecting to a camera and probing its stream.
    public var openTimeout = 10.0
    /// Seconds without a frame before a read counts as stalled.
    public var readTimeout = 5.0
    /// Seconds without a frame before `camera_offline` is raised.
    public var offlineAfter = 15.0
    /// First wait before reconnecting, in seconds (doubles on each failure).
    public var minBackoff = 1.0
    /// Longest wait between reconnection attempts, in seconds.
    public var maxBackoff = 60.0
    /// Wait after a camera rejected the credentials, in seconds (or until its record changes).
    public var credentialsRetry = 1800.0
    /// Wait after a camera answered 404, in seconds.
    public var notFoundRetry = 300.0
    /// Seconds between two reads of the registry (changes take effect within this).
    public var registryPoll = 2.0
    /// Decode without the H.264 loop filter (cheaper; detection quality unchanged on the fixtures).
    public var skipLoopFilter = true
    /// Adaptive decoding: only keyframes while a camera's scene is quiet (per camera under `cameras`).
    /// On by default: the fixture suites find the same events with it (`vigil bench --suite`).
    public var adaptiveDecoding = true
    /// Seconds of quiet before adaptive decoding drops to keyframes.
    public var adaptiveQuietSeconds = AdaptiveDecoding().quietSeconds
    /// Pictures further behind real time than this many seconds are never analysed (the worker
    /// skips to the live edge; `camera_lagging` when it keeps falling behind).
    public var maxLag = 2.0
    /// `full` (an fsync per commit: survives power loss) or `normal` (survives crashes of Vigil).
    public var queueDurability = "full"
    /// Write a JPEG of each motion event's peak frame, box drawn, under `<state dir>/snapshots`.
    public var snapshots = true
    /// Snapshots of a camera no longer in the registry are removed after this many days; a registered
    /// camera's follow its `retention-days` (checked at start and every hour).
    public var snapshotMaxAgeDays = 30.0
    /// The oldest snapshots are removed while all of them take more than this many bytes.
    public var snapshotMaxBytes = 1 << 30
    /// Per camera, the most motion events alerted in any minute; beyond it they are summed up in one
    /// `motion_flood` alert per minute (1...600).
    public var motionEventsPerMinute = 12
    /// Per-camera deadlines, by camera id.
    public var cameras: [String: CameraTiming] = [:]

    /// A camera's own deadlines and decoding; absent ones fall back to the daemon's.
    public struct CameraTiming: Sendable, Equatable, Codable {
        public var openTimeout: Double?
        public var readTimeout: Double?
        public var offlineAfter: Double?
        public var adaptiveDecoding: Bool?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case openTimeout = "open_timeout", readTimeout = "read_timeout", offlineAfter = "offline_after"
            case adaptiveDecoding = "adaptive_decoding"
        }

        public static var keys: [String] { CodingKeys.allCases.map(\.rawValue) }
    }

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case openTimeout = "open_timeout", readTimeout = "read_timeout", offlineAfter = "offline_after"
        case minBackoff = "min_backoff", maxBackoff = "max_backoff", credentialsRetry = "credentials_retry", notFoundRetry = "not_found_retry"
        case registryPoll = "registry_poll", skipLoopFilter = "skip_loop_filter", queueDurability = "queue_durability", cameras
        case adaptiveDecoding = "adaptive_decoding", adaptiveQuietSeconds = "adaptive_quiet_seconds"
        case maxLag = "max_lag"
        case snapshots, snapshotMaxAgeDays = "snapshot_max_age_days", snapshotMaxBytes = "snapshot_max_bytes"
        case motionEventsPerMinute = "motion_events_per_minute"
    }

    public static var keys: [String] { CodingKeys.allCases.map(\.rawValue) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ current: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? current
        }
        openTimeout = try value(.openTimeout, openTimeout)
        readTimeout = try value(.readTimeout, readTimeout)
        offlineAfter = try value(.offlineAfter, offlineAfter)
        minBackoff = try value(.minBackoff, minBackoff)
        maxBackoff = try value(.maxBackoff, maxBackoff)
        credentialsRetry = try value(.credentialsRetry, credentialsRetry)
        notFoundRetry = try value(.notFoundRetry, notFoundRetry)
        registryPoll = try value(.registryPoll, registryPoll)
        skipLoopFilter = try value(.skipLoopFilter, skipLoopFilter)
        adaptiveDecoding = try value(.adaptiveDecoding, adaptiveDecoding)
        adaptiveQuietSeconds = try value(.adaptiveQuietSeconds, adaptiveQuietSeconds)
        maxLag = try value(.maxLag, maxLag)
        queueDurability = try value(.queueDurability, queueDurability)
        cameras = try value(.cameras, cameras)
        snapshots = try value(.snapshots, snapshots)
        snapshotMaxAgeDays = try value(.snapshotMaxAgeDays, snapshotMaxAgeDays)
        snapshotMaxBytes = try value(.snapshotMaxBytes, snapshotMaxBytes)
        motionEventsPerMinute = try value(.motionEventsPerMinute, motionEventsPerMinute)
    }

    /// The range of each duration, in seconds: long enough for any real deployment, short enough
    /// that no `Duration` or sleep computed from it overflows.
    static let ranges: [String: ClosedRange<Double>] = [
        "open_timeout": 0.1...3600, "read_timeout": 0.1...3600, "offline_after": 0.1...86_400,
        "min_backoff": 0.01...3600, "max_backoff": 0.01...86_400, "credentials_retry": 1...604_800,
        "not_found_retry": 1...604_800, "registry_poll": 0.1...3600, "adaptive_quiet_seconds": 0...86_400,
        // Under half a second of lag, network jitter alone would make cameras skip to the live edge.
        "max_lag": 0.5...30,
    ]

    /// The first out-of-range knob, as a readable problem (key, value and range), or nil.
    public var problem: String? {
        let seconds: [(String, Double?)] = [
            ("open_timeout", openTimeout), ("read_timeout", readTimeout), ("offline_after", offlineAfter),
            ("min_backoff", minBackoff), ("max_backoff", maxBackoff), ("credentials_retry", credentialsRetry),
            ("not_found_retry", notFoundRetry), ("registry_poll", registryPoll),
            ("adaptive_quiet_seconds", adaptiveQuietSeconds), ("max_lag", maxLag),
        ] + cameras.sorted { $0.key < $1.key }.flatMap { id, timing in
            let id = TextFile.quoted(id)
            return [("cameras.\(id).open_timeout", timing.openTimeout), ("cameras.\(id).read_timeout", timing.readTimeout),
             ("cameras.\(id).offline_after", timing.offlineAfter)]
        }
        for (key, value) in seconds {
            // A camera's own deadline has the range of the daemon-wide key it replaces.
            if let value, let range = Self.ranges[String(key.split(separator: ".").last ?? "")],
                let problem = Bounds.problem(key, value, range, unit: "seconds")
            {
                return problem
            }
        }
        if let problem = Bounds.problem("snapshot_max_age_days", snapshotMaxAgeDays, 0.001...36_500, unit: "days") {
            return problem
        }
        if let problem = Bounds.problem("snapshot_max_bytes", snapshotMaxBytes, 1...(1 << 50), unit: "bytes") {
            return problem
        }
        if let problem = Bounds.problem("motion_events_per_minute", motionEventsPerMinute, 1...600) {
            return problem
        }
        if !["full", "normal"].contains(queueDurability) {
            return "queue_durability must be full or normal (got \(queueDurability))"
        }
        return nil
    }
}
