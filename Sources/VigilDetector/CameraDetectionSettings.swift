/// A closed polygon in source pixels, written `[[x, y], [x, y], ...]` (at least three corners).
public struct Polygon: Sendable, Equatable, Codable {
    public var points: [[Double]]

    public init(_ points: [[Double]]) {
        self.points = points
    }

    public init(from decoder: any Decoder) throws {
        points = try decoder.singleValueContainer().decode([[Double]].self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(points)
    }

    /// Whether the point lies inside (even-odd rule).
    public func contains(x: Double, y: Double) -> Bool {
        var inside = false
        var previous = points[points.count - 1]
        for point in points {
            if (point[1] > y) != (previous[1] > y),
                x < (previous[0] - point[0]) * (y - point[1]) / (previous[1] - point[1]) + point[0]
            {
                inside.toggle()
            }
            previous = point
        }
        return inside
    }

    /// At most this many corners per polygon.
    public static let maxPoints = 1000

    /// Sets `value` in `bitmap` (`width` x `height`, one byte per pixel) for every pixel whose centre
    /// lies inside, by the same even-odd rule as ``contains(x:y:)``, a row at a time.
    public func fill(_ bitmap: inout [UInt8], width: Int, height: Int, value: UInt8 = 1) {
        guard points.count >= 3, bitmap.count >= width * height else { return }
        var crossings: [Double] = []
        for row in 0..<height {
            let y = Double(row) + 0.5
            crossings.removeAll(keepingCapacity: true)
            var previous = points[points.count - 1]
            for point in points {
                if (point[1] > y) != (previous[1] > y) {
                    crossings.append((previous[0] - point[0]) * (y - point[1]) / (previous[1] - point[1]) + point[0])
                }
                previous = point
            }
            crossings.sort()
            for pair in stride(from: 0, to: crossings.count - 1, by: 2) {
                // Pixels whose centre x + 0.5 lies in [left, right).
                let first = max(0, Int((crossings[pair] - 0.5).rounded(.up)))
                let last = min(width - 1, Int((crossings[pair + 1] - 0.5).rounded(.up)) - 1)
                if first <= last {
                    for x in first...last { bitmap[row * width + x] = value }
                }
            }
        }
    }

    var problem: String? {
        if points.count < 3 { return "a polygon needs at least 3 points (got \(points.count))" }
        if points.count > Self.maxPoints { return "a polygon has at most \(Self.maxPoints) points (got \(points.count))" }
        if let bad = points.first(where: { $0.count != 2 }) { return "a polygon point is [x, y] (got \(bad))" }
        if let bad = points.joined().first(where: { !(-100_000...100_000).contains($0) }) {
            return "a polygon coordinate must be -100000...100000 pixels (got \(bad))"
        }
        return nil
    }
}

/// A named part of the picture. When a camera has zones, motion counts only inside them, and an
/// event lists the zones it touched.
public struct DetectionZone: Sendable, Equatable, Codable {
    public var name: String
    public var polygon: Polygon
    /// The changed area an object needs inside this zone to count, as a fraction of the whole
    /// picture; nil uses the camera's `min_area`.
    public var minArea: Double?

    public init(name: String, polygon: Polygon, minArea: Double? = nil) {
        self.name = name
        self.polygon = polygon
        self.minArea = minArea
    }

    /// The config-file keys of a zone.
    public static var keys: [String] { CodingKeys.allCases.map(\.rawValue) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, polygon
        case minArea = "min_area"
    }
}

/// Everything that decides how one camera's picture becomes events: the detector's knobs, the
/// exclude masks and the named zones. One Codable value, so the camera registry can store it as
/// JSON; its coded form is flat: the knobs' keys (`min_area`, ...) beside `masks` and `zones`.
public struct CameraDetectionSettings: Sendable, Equatable, Codable {
    /// At most this many zones per camera.
    public static let maxZones = 32
    /// At most this many exclude masks per camera.
    public static let maxMasks = 64

    public var detector: DetectorConfig
    /// Parts of the picture where nothing is ever motion (a tree, a flag, a busy road).
    public var masks: [Polygon]
    /// Named include zones; empty means the whole picture (less the masks) counts.
    public var zones: [DetectionZone]
    /// What the camera must not show (windows of homes, private gardens): never analysed, like
    /// `masks`, and burned black into every snapshot before it is written.
    public var privacyMasks: [Polygon]

    public init(detector: DetectorConfig = DetectorConfig(), masks: [Polygon] = [], zones: [DetectionZone] = [],
                privacyMasks: [Polygon] = []) {
        self.detector = detector
        self.masks = masks
        self.zones = zones
        self.privacyMasks = privacyMasks
    }

    /// The keys that sit beside the detector's knobs.
    public static var keys: [String] { DetectorConfig.keys + CodingKeys.allCases.map(\.rawValue) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case masks, zones
        case privacyMasks = "privacy_masks"
    }

    public init(from decoder: any Decoder) throws {
        detector = try DetectorConfig(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        masks = try container.decodeIfPresent([Polygon].self, forKey: .masks) ?? []
        zones = try container.decodeIfPresent([DetectionZone].self, forKey: .zones) ?? []
        privacyMasks = try container.decodeIfPresent([Polygon].self, forKey: .privacyMasks) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        try detector.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(masks, forKey: .masks)
        try container.encode(zones, forKey: .zones)
        if !privacyMasks.isEmpty { try container.encode(privacyMasks, forKey: .privacyMasks) }
    }

    /// The first invalid setting, as a readable problem, or nil when all are valid.
    public var problem: String? {
        if let problem = detector.problem { return problem }
        if masks.count > Self.maxMasks { return "masks: at most \(Self.maxMasks) (got \(masks.count))" }
        if let problem = masks.lazy.compactMap(\.problem).first { return "masks: \(problem)" }
        if privacyMasks.count > Self.maxMasks {
            return "privacy_masks: at most \(Self.maxMasks) (got \(privacyMasks.count))"
        }
        if let problem = privacyMasks.lazy.compactMap(\.problem).first { return "privacy_masks: \(problem)" }
        if zones.count > Self.maxZones { return "zones: at most \(Self.maxZones) (got \(zones.count))" }
        for zone in zones {
            if let problem = zone.polygon.problem { return "zones: \(zone.name): \(problem)" }
            if let minArea = zone.minArea, let problem = Bounds.problem("min_area", minArea, 0...1) {
                return "zones: \(zone.name): \(problem)"
            }
        }
        if Set(zones.map(\.name)).count != zones.count { return "zones: names must be unique" }
        return nil
    }

    /// The names of the zones in `set`, in configuration order.
    public func zoneNames(_ set: ZoneSet) -> [String] {
        zones.indices.filter { set.contains(index: $0) }.map { zones[$0].name }
    }
}

/// A set of zones of one camera, by their index in `CameraDetectionSettings.zones`.
public struct ZoneSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    public init(index: Int) {
        rawValue = 1 << UInt32(index)
    }

    public func contains(index: Int) -> Bool {
        rawValue & (1 << UInt32(index)) != 0
    }
}
