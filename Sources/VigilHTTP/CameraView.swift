import Foundation
import VigilPipeline
import VigilSQLite
import VigilStore

/// One camera as the API, the status page and the metrics show it: its registry record's public
/// fields (none of a private camera's, never a URL or a credential) and its state on the board.
struct CameraView: Encodable, Sendable {
    let id: String
    let name: String
    let isPublic: Bool
    let enabled: Bool
    /// One of ``CameraView/states``: the connection, or while streaming the picture condition under way.
    let state: String
    /// The state in words, for people.
    let stateText: String
    /// Since when the camera is in `state`, and for how many seconds.
    let since: Date?
    let secondsInState: Double?
    let conditions: [String: Date]
    let behindSeconds: Double?
    let frames: Int
    let packets: Int
    let packetsDecoded: Int
    let reconnects: [String: Int]
    let blindSeconds: Double
    /// Share of the watched time with a usable picture, today and over the last seven UTC days.
    let availability: CameraAvailability
    let framesPerSecond: Double?
    let width: Int?
    let height: Int?
    let bitsPerSecond: Double?
    let lastFrame: Date?
    let lastAlert: AlertSummary?
    /// The URL path of the latest event snapshot, when there is one.
    let latestSnapshot: String?
    /// The public register's entry (public cameras only).
    let register: PublicRegister.Entry?

    /// Every state a camera can be shown in, with its words and its colour class on the status page.
    static let states: [(state: String, text: String, tone: String)] = [
        ("streaming", "Streaming", "good"), ("lagging", "Lagging behind", "warn"), ("connecting", "Connecting", "warn"),
        ("backoff", "Waiting to reconnect", "warn"), ("offline", "Offline", "bad"),
        ("credentials_rejected", "Credentials rejected", "bad"), ("not_found", "Stream not found", "bad"),
        ("frozen", "Picture frozen", "bad"), ("covered", "Lens covered", "bad"), ("dark", "Too dark to see", "bad"),
        ("stopped", "Not watched", "idle"), ("unknown", "Unknown", "idle"),
    ]

    /// The state a camera is shown in and since when: its connection, or while it streams the first
    /// picture condition under way (frozen, covered, dark, lagging).
    static func shown(_ status: CameraStatus) -> (state: String, since: Date) {
        guard status.connection == .streaming,
              let condition = [PictureCondition.frozen, .covered, .dark, .lagging].first(where: { status.conditions[$0] != nil }),
              let start = status.conditions[condition]
        else { return (status.connection.rawValue, status.since) }
        return (condition.rawValue, start)
    }

    var tone: String { Self.states.first { $0.state == state }?.tone ?? "idle" }

    init(camera: Camera, status: CameraStatus?, availability: CameraAvailability?, now: Date, latestSnapshot: String?) {
        id = camera.id
        name = camera.name
        isPublic = camera.isPublic
        enabled = camera.enabled
        register = camera.isPublic ? PublicRegister(cameras: [camera]).entries.first : nil
        self.latestSnapshot = latestSnapshot
        let shown = status.map(Self.shown)
        let state = shown?.state ?? "unknown", since = shown?.since
        self.state = state
        stateText = Self.states.first { $0.state == state }?.text ?? state
        self.since = since
        secondsInState = since.map { max(0, now.timeIntervalSince($0)) }
        conditions = Dictionary(uniqueKeysWithValues: (status?.conditions ?? [:]).map { ($0.key.rawValue, $0.value) })
        behindSeconds = status?.behindSeconds
        frames = status?.frames ?? 0
        packets = status?.packets ?? 0
        packetsDecoded = status?.packetsDecoded ?? 0
        reconnects = status?.reconnects ?? [:]
        blindSeconds = status?.blindSeconds ?? 0
        self.availability = availability ?? .unwatched
        framesPerSecond = status?.framesPerSecond
        width = status?.width
        height = status?.height
        bitsPerSecond = status?.bitsPerSecond
        lastFrame = status?.lastFrame
        lastAlert = status?.lastAlert
    }
}
