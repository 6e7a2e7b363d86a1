/// Every knob of the motion detector. The defaults are meant to work untuned; each can be
/// overridden in the config file (YAML keys in snake_case, see the README).
public struct DetectorConfig: Sendable, Equatable, Codable {
    /// The picture is box-averaged by 1, 2, 4 or 8, the largest factor that keeps it at least
    /// this wide. Averaging removes sensor noise and makes the per-pixel work small.
    public var analysisWidth: Int = 320
    /// A pixel of the averaged picture changes when it differs from the background by more than
    /// this many levels (0-255), or by more than its learned noise level if that is higher.
    public var pixelThreshold: Int = 15
    /// The learned noise level tracks this multiple (1, 2 or 4) of each pixel's typical difference.
    public var noiseMultiplier: Int = 4
    /// A frame shows motion when at least this fraction of the picture changed (0-1).
    public var minArea: Double = 0.0008
    /// An event starts after this many consecutive motion frames.
    public var minMotionFrames: Int = 3
    /// An event ends after this many seconds without motion.
    public var eventGap: Double = 1.0
    /// When more than this fraction of the picture changes at once (a light switch, an IR switch,
    /// auto exposure), the background is re-learned from that frame instead of reporting motion.
    public var lightSwitchFraction: Double = 0.5

    public init() {}

    /// The config-file keys, in snake_case.
    public static var keys: [String] { CodingKeys.allCases.map(\.rawValue) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case analysisWidth = "analysis_width"
        case pixelThreshold = "pixel_threshold"
        case noiseMultiplier = "noise_multiplier"
        case minArea = "min_area"
        case minMotionFrames = "min_motion_frames"
        case eventGap = "event_gap"
        case lightSwitchFraction = "light_switch_fraction"
    }

    /// Missing keys keep their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ current: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? current
        }
        analysisWidth = try value(.analysisWidth, analysisWidth)
        pixelThreshold = try value(.pixelThreshold, pixelThreshold)
        noiseMultiplier = try value(.noiseMultiplier, noiseMultiplier)
        minArea = try value(.minArea, minArea)
        minMotionFrames = try value(.minMotionFrames, minMotionFrames)
        eventGap = try value(.eventGap, eventGap)
        lightSwitchFraction = try value(.lightSwitchFraction, lightSwitchFraction)
    }

    /// The first knob whose value is out of range, as a readable problem, or nil when all are valid.
    public var problem: String? {
        if analysisWidth < 16 { return "analysis_width must be at least 16 (got \(analysisWidth))" }
        if !(1...254).contains(pixelThreshold) { return "pixel_threshold must be 1...254 (got \(pixelThreshold))" }
        if ![1, 2, 4].contains(noiseMultiplier) { return "noise_multiplier must be 1, 2 or 4 (got \(noiseMultiplier))" }
        if !(0...1).contains(minArea) { return "min_area must be a fraction 0...1 (got \(minArea))" }
        if minMotionFrames < 1 { return "min_motion_frames must be at least 1 (got \(minMotionFrames))" }
        if eventGap < 0 { return "event_gap must not be negative (got \(eventGap))" }
        if !(0...1).contains(lightSwitchFraction) {
            return "light_switch_fraction must be a fraction 0...1 (got \(lightSwitchFraction))"
        }
        return nil
    }
}
