import Foundation
import VigilDetector

/// One alert: what happened, on which camera, when. Its JSON encoding (one object, snake_case keys,
/// absent fields left out) is both a line of the alert log and the body of a webhook request:
///
/// ```json
/// {"box":[120,80,64,128],"camera":"grote-markt-1","event":"01JDQ3V5K8M2X7R4T9B6C1N0PZ",
///  "id":"01JDQ3V5K8M2X7R4T9B6C1N0Q0","kind":"motion_started","peak_area":0.0125,
///  "time":"2026-11-29T14:03:07.250Z","zones":["entrance"]}
/// ```
public struct Alert: Sendable, Equatable, Codable {
    /// Unique and stable: the same alert keeps its id through retries and restarts, so a sink can
    /// drop duplicates. Sorts by time (see ``AlertID``).
    public var id: String
    public var kind: AlertKind
    /// The camera's registry id.
    public var camera: String
    /// When it happened, by the local clock, to the millisecond.
    public var time: Date
    /// Motion only: the id shared by the `motion_started` and `motion_ended` of one event.
    public var event: String?
    /// Motion only: the zones the motion touched.
    public var zones: [String]?
    /// Motion only: the largest fraction of the picture that changed in one frame (0...1).
    public var peakArea: Double?
    /// Motion only: where the motion was, in source pixels (JSON `[x, y, w, h]`).
    public var box: PixelBox?
    /// Motion only: path of a JPEG of the peak frame, when snapshots are enabled.
    public var snapshot: String?
    /// True only on a `motion_ended` written after a restart for an event whose process died.
    public var interrupted: Bool
    /// True only on a `motion_ended` whose frames stopped for longer than the event gap: the event
    /// ends at the last analysed frame, and motion after the gap is a new event.
    public var framesStopped: Bool
    /// `camera_lagging` only: how far the pictures were behind real time, in seconds.
    public var behindSeconds: Double?
    /// A sentence for people ("no frame for 15 s", "3 motion_started alerts coalesced...").
    public var message: String?
    /// How many alerts this one stands for: above 1 only when the full queue coalesced repeats.
    public var count: Int
    /// `motion_ended` with a snapshot: the hex SHA-256 of the JPEG, so the file can be proven unaltered.
    public var snapshotSHA256: String?
    /// In the alert log only: the hex SHA-256 of the line before this one (see ``AlertChain``).
    public var prev: String?
    /// Fleet mode only: the node that raised it and the fencing epoch of its lease on the camera, so
    /// a late alert of a node that lost the camera can be told from the current owner's.
    public var node: String?
    public var epoch: Int64?

    /// An alert with a new id; `time` is cut to whole milliseconds.
    public init(kind: AlertKind, camera: String, time: Date = Date(), event: String? = nil, zones: [String]? = nil,
                peakArea: Double? = nil, box: PixelBox? = nil, snapshot: String? = nil, interrupted: Bool = false,
                framesStopped: Bool = false, behindSeconds: Double? = nil, message: String? = nil, count: Int = 1,
                snapshotSHA256: String? = nil) {
        let time = AlertTime.truncated(time)
        self.id = AlertID.make(at: time)
        self.kind = kind
        self.camera = camera
        self.time = time
        self.event = event
        self.zones = zones
        self.peakArea = peakArea
        self.box = box
        self.snapshot = snapshot
        self.interrupted = interrupted
        self.framesStopped = framesStopped
        self.behindSeconds = behindSeconds
        self.message = message
        self.count = count
        self.snapshotSHA256 = snapshotSHA256
    }

    /// The `motion_ended` that closes this `motion_started`'s event after its process died.
    public func interruptedEnd(at time: Date = Date()) -> Alert {
        Alert(kind: .motionEnded, camera: camera, time: time, event: event, zones: zones, peakArea: peakArea,
              box: box, snapshot: snapshot, interrupted: true,
              message: "event closed after a restart: vigil stopped before the motion ended")
    }

    /// Why the queue refuses this alert, or nil when it is well formed.
    public var problem: String? {
        if camera.isEmpty { return "an alert needs a camera id" }
        if kind.rawValue.isEmpty { return "an alert needs a kind" }
        if count < 1 { return "count must be at least 1, not \(count)" }
        if kind.isMotion, event?.isEmpty ?? true { return "a \(kind) alert needs an event id" }
        if let peakArea, !(0...1).contains(peakArea) { return "peak_area must be within 0...1, not \(peakArea)" }
        if interrupted, kind != .motionEnded { return "only motion_ended can be interrupted" }
        if framesStopped, kind != .motionEnded { return "only motion_ended can have frames_stopped" }
        return nil
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, camera, time, event, zones
        case peakArea = "peak_area"
        case box, snapshot, interrupted, message, count
        case framesStopped = "frames_stopped", behindSeconds = "behind_seconds"
        case snapshotSHA256 = "snapshot_sha256", prev, node, epoch
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        kind = try container.decode(AlertKind.self, forKey: .kind)
        camera = try container.decode(String.self, forKey: .camera)
        let text = try container.decode(String.self, forKey: .time)
        guard let time = AlertTime.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: .time, in: container,
                                                   debugDescription: "not an ISO-8601 UTC time: \(text)")
        }
        self.time = time
        event = try container.decodeIfPresent(String.self, forKey: .event)
        zones = try container.decodeIfPresent([String].self, forKey: .zones)
        peakArea = try container.decodeIfPresent(Double.self, forKey: .peakArea)
        box = try container.decodeIfPresent(PixelBox.self, forKey: .box)
        snapshot = try container.decodeIfPresent(String.self, forKey: .snapshot)
        interrupted = try container.decodeIfPresent(Bool.self, forKey: .interrupted) ?? false
        framesStopped = try container.decodeIfPresent(Bool.self, forKey: .framesStopped) ?? false
        behindSeconds = try container.decodeIfPresent(Double.self, forKey: .behindSeconds)
        message = try container.decodeIfPresent(String.self, forKey: .message)
        count = try container.decodeIfPresent(Int.self, forKey: .count) ?? 1
        snapshotSHA256 = try container.decodeIfPresent(String.self, forKey: .snapshotSHA256)
        prev = try container.decodeIfPresent(String.self, forKey: .prev)
        node = try container.decodeIfPresent(String.self, forKey: .node)
        epoch = try container.decodeIfPresent(Int64.self, forKey: .epoch)
    }

    /// Leaves out absent fields, `interrupted` and `frames_stopped` unless true and `count` unless above 1.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(camera, forKey: .camera)
        try container.encode(AlertTime.format(time), forKey: .time)
        try container.encodeIfPresent(event, forKey: .event)
        try container.encodeIfPresent(zones, forKey: .zones)
        try container.encodeIfPresent(peakArea, forKey: .peakArea)
        try container.encodeIfPresent(box, forKey: .box)
        try container.encodeIfPresent(snapshot, forKey: .snapshot)
        if interrupted { try container.encode(true, forKey: .interrupted) }
        if framesStopped { try container.encode(true, forKey: .framesStopped) }
        try container.encodeIfPresent(behindSeconds, forKey: .behindSeconds)
        try container.encodeIfPresent(message, forKey: .message)
        if count > 1 { try container.encode(count, forKey: .count) }
        try container.encodeIfPresent(snapshotSHA256, forKey: .snapshotSHA256)
        try container.encodeIfPresent(prev, forKey: .prev)
        try container.encodeIfPresent(node, forKey: .node)
        try container.encodeIfPresent(epoch, forKey: .epoch)
    }

    /// The alert as one line of JSON, without the newline: keys sorted, slashes unescaped.
    public func jsonLine() -> String {
        // Encoding strings, numbers and arrays of them cannot fail.
        String(decoding: try! Self.encoder.encode(self), as: UTF8.self)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Parses one line of the alert log or one webhook body.
    public init(jsonLine: some StringProtocol) throws {
        self = try JSONDecoder().decode(Alert.self, from: Data(jsonLine.utf8))
    }
}
