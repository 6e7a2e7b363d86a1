import Foundation
import VigilStore

/// A camera's availability over some days: the seconds it was watched, of those the seconds it gave
/// no usable picture, and the share that was usable.
public struct Availability: Sendable, Equatable, Encodable {
    public let watchedSeconds: Double
    public let blindSeconds: Double
    /// `(watched - blind) / watched`, 0...1; nil when the camera was not watched at all.
    public let available: Double?

    public init(watchedSeconds: Double, blindSeconds: Double) {
        self.watchedSeconds = watchedSeconds
        self.blindSeconds = min(blindSeconds, watchedSeconds)
        available = watchedSeconds > 0 ? max(0, watchedSeconds - self.blindSeconds) / watchedSeconds : nil
    }

    enum CodingKeys: String, CodingKey { case watchedSeconds, blindSeconds, available }

    /// Always writes `available`, `null` when unknown, so that API clients see the field.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(watchedSeconds, forKey: .watchedSeconds)
        try container.encode(blindSeconds, forKey: .blindSeconds)
        try container.encode(available, forKey: .available)
    }
}

/// A camera's availability today (the current UTC day) and over the last seven UTC days, today included.
public struct CameraAvailability: Sendable, Equatable, Encodable {
    public let today: Availability
    public let sevenDays: Availability

    public init(today: Availability, sevenDays: Availability) {
        self.today = today
        self.sevenDays = sevenDays
    }

    /// A camera not watched at all.
    public static let unwatched = CameraAvailability(today: Availability(watchedSeconds: 0, blindSeconds: 0),
                                                     sevenDays: Availability(watchedSeconds: 0, blindSeconds: 0))
}

/// The watched and blind seconds of every camera per UTC day, kept by ``CameraStatusBoard`` under its
/// lock. Time is counted in segments: a segment runs while a camera stays in one mode (not watched,
/// usable, blind) and is added, split at UTC midnights, when the mode changes or the book is read, so
/// nothing is done per frame. `counted` holds everything known (days read back from the store plus
/// this run's); `unwritten` what the store has not got yet.
struct AvailabilityBook {
    enum Mode { case notWatched, usable, blind }

    struct Seconds {
        var watched = 0.0
        var blind = 0.0

        mutating func add(watched: Double, blind: Double) {
            self.watched += watched
            self.blind += blind
        }
    }

    /// Seconds per camera and day.
    typealias Days = [String: [Int: Seconds]]

    /// Days are counted as whole UTC days since 1970 (Unix time has no leap seconds).
    static func day(of date: Date) -> Int { Int((date.timeIntervalSince1970 / 86_400).rounded(.down)) }
    static func text(of day: Int) -> String { UTCDay.format(Date(timeIntervalSince1970: Double(day) * 86_400)) }

    /// Days kept in memory: the seven shown, and one more so that a day is never cut while it is shown.
    static let daysKept = 8

    private var segments: [String: (start: Date, mode: Mode)] = [:]
    private var counted: Days = [:]
    private var unwritten: Days = [:]

    static func mode(of status: CameraStatus) -> Mode {
        status.connection == .stopped ? .notWatched : status.isBlind ? .blind : .usable
    }

    /// Starts counting a camera that came onto the board.
    mutating func begin(_ camera: String, mode: Mode, at time: Date) {
        segments[camera] = (time, mode)
    }

    /// Stops counting a camera that left the board; what it counted stays until written.
    mutating func end(_ camera: String, at time: Date) {
        close(camera, at: time)
        segments[camera] = nil
    }

    /// Notes a camera's mode after a change; closes the running segment only when the mode changed.
    mutating func note(_ camera: String, mode: Mode, at time: Date) {
        guard let segment = segments[camera], segment.mode != mode else { return }
        close(camera, at: time)
        segments[camera]?.mode = mode
    }

    /// Adds every running segment up to `time`.
    mutating func closeAll(at time: Date) {
        for camera in segments.keys { close(camera, at: time) }
    }

    /// Adds the running segment of `camera` up to `time`, split at UTC midnights, and starts the next
    /// one there. A clock set back only moves the segment's start.
    private mutating func close(_ camera: String, at time: Date) {
        guard let segment = segments[camera] else { return }
        segments[camera]?.start = time
        guard segment.mode != .notWatched else { return }
        let mode = segment.mode
        var from = segment.start
        while from < time {
            let day = Self.day(of: from)
            let to = min(time, Date(timeIntervalSince1970: Double(day + 1) * 86_400))
            let seconds = to.timeIntervalSince(from), blind = mode == .blind ? seconds : 0
            counted[camera, default: [:]][day, default: Seconds()].add(watched: seconds, blind: blind)
            unwritten[camera, default: [:]][day, default: Seconds()].add(watched: seconds, blind: blind)
            from = to
        }
    }

    /// Adds figures read back from the store to what is known (not to what is unwritten).
    mutating func load(_ figures: [CameraDayFigures]) {
        Self.add(figures, to: &counted)
    }

    private static func add(_ figures: [CameraDayFigures], to days: inout Days) {
        for figure in figures {
            guard let date = UTCDay.parse(figure.day) else { continue }
            days[figure.camera, default: [:]][day(of: date), default: Seconds()]
                .add(watched: figure.watchedSeconds, blind: figure.blindSeconds)
        }
    }

    /// What the store has not got yet, up to `time`; forgotten here (give it back with
    /// ``giveBack(_:)`` when the write fails). Also forgets known days too old to be shown.
    mutating func takeUnwritten(at time: Date) -> [CameraDayFigures] {
        closeAll(at: time)
        let taken = unwritten.sorted { $0.key < $1.key }.flatMap { camera, days in
            days.sorted { $0.key < $1.key }.map { day, seconds in
                CameraDayFigures(camera: camera, day: Self.text(of: day), watchedSeconds: seconds.watched, blindSeconds: seconds.blind)
            }
        }
        unwritten = [:]
        let oldest = Self.day(of: time) - Self.daysKept
        for camera in counted.keys { counted[camera] = counted[camera]?.filter { $0.key >= oldest } }
        return taken
    }

    /// Figures a write failed to store, to be written with the next ones.
    mutating func giveBack(_ figures: [CameraDayFigures]) {
        Self.add(figures, to: &unwritten)
    }

    /// Each camera's availability today and over the seven days up to today, counted up to `time`.
    mutating func availability(at time: Date) -> [String: CameraAvailability] {
        closeAll(at: time)
        let today = Self.day(of: time)
        return counted.mapValues { days in
            func sum(_ range: ClosedRange<Int>) -> Availability {
                let seconds = days.filter { range.contains($0.key) }.values
                return Availability(watchedSeconds: seconds.reduce(0) { $0 + $1.watched },
                                    blindSeconds: seconds.reduce(0) { $0 + $1.blind })
            }
            return CameraAvailability(today: sum(today...today), sevenDays: sum(today - 6...today))
        }
    }
}
