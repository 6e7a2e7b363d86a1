/// Every knob of the motion detector, the event logic and the camera-health checks. The defaults
/// are meant to work untuned; each can be overridden in the config file (YAML keys in snake_case,
/// see docs/configuration.md), for all cameras or per camera.
public struct DetectorConfig: Sendable, Equatable, Codable {
    // MARK: Picture

    /// The picture is box-averaged by 1, 2, 4 or 8, the largest factor that keeps it at least
    /// this wide. Averaging removes sensor noise and makes the per-pixel work small.
    public var analysisWidth: Int = 320
    /// A pixel of the averaged picture changes when it differs from the background by more than
    /// this many levels (0-255), or by more than its learned noise level if that is higher.
    public var pixelThreshold: Int = 15
    /// The learned noise level tracks this multiple (1, 2 or 4) of each pixel's typical difference.
    public var noiseMultiplier: Int = 4
    /// Compare each pixel with the range of the background around it (3x3 averaged pixels), so a
    /// view that jitters by a pixel or two (a swaying pole) is not motion.
    public var shakeTolerance: Bool = true
    /// With `shakeTolerance`: where the scene is quiet (no learned movement in place, a still view,
    /// the pixel's noise low), count the plain difference instead of the range, so a slow, faint
    /// figure is found as it enters (docs/detector-onset.md). `false` compares with the range everywhere,
    /// as before issue 11: later onsets for faint, slow figures.
    public var quietPlainDifference: Bool = true
    /// Re-baseline the background block by block when the light changes (a step, an IR switch, a
    /// cloud over part of the scene): a block whose change is explained by a gain and an offset,
    /// with neighbours that agree, is relit instead of reported. Objects moving meanwhile still show.
    public var relight: Bool = true
    /// More changed pixels than this fraction of the picture at once, even after relighting,
    /// relearns the whole background from the frame instead of reporting motion (0-1).
    public var lightSwitchFraction: Double = 0.5

    // MARK: Objects

    /// The picture is divided into cells of 4x4 averaged pixels; a cell takes part in motion when at
    /// least this fraction of its pixels changed (0-1). Isolated pixels and thin streaks (rain,
    /// snow, insects, compression noise) fill too little of any cell.
    public var cellFill: Double = 0.4
    /// A group of touching cells is an object, and is motion when its changed area is at least this
    /// fraction of the picture (0-1). The default keeps a 10x24 px walker in a 640x360 view
    /// (about 70 of its 240 px must show as changed).
    public var minArea: Double = 0.0003

    // MARK: Events

    /// An event is confirmed after this many consecutive motion frames.
    public var minMotionFrames: Int = 3
    /// An event ends after this many seconds without motion.
    public var eventGap: Double = 1.0
    /// An event longer than this many seconds is ended and a new one starts (0 = never split).
    public var maxEventLength: Double = 60
    /// After an event ends, no new event is confirmed for this many seconds (0 = off): a limit on
    /// alert floods. Motion that goes on past the cooldown still makes an event.
    public var cooldown: Double = 0

    // MARK: Camera health

    /// The picture is `dark` when its mean luma is below this level (16 is black in video range).
    public var darkLuma: Double = 28
    /// The picture is `covered` (or blinded) when its mean absolute difference between
    /// neighbouring averaged pixels is below this many levels, whatever the camera showed before
    /// (a covered lens gives under 0.2; a dark, noisy, heavily compressed night street 0.7-1.5).
    public var coveredEdges: Double = 0.3
    /// ...or below this fraction of the edge energy the camera normally shows (learned over about
    /// 30 s of healthy pictures, so night falling over minutes is followed, a bag over the lens not).
    public var coveredDrop: Double = 0.25
    /// A health state (`dark`, `covered`, `frozen`) begins after it has held for this many seconds.
    public var healthDelay: Double = 2.0

    public init() {}

    /// The config-file keys, in snake_case.
    public static var keys: [String] { CodingKeys.allCases.map(\.rawValue) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case analysisWidth = "analysis_width"
        case pixelThreshold = "pixel_threshold"
        case noiseMultiplier = "noise_multiplier"
        case shakeTolerance = "shake_tolerance"
        case quietPlainDifference = "quiet_plain_difference"
        case relight
        case lightSwitchFraction = "light_switch_fraction"
        case cellFill = "cell_fill"
        case minArea = "min_area"
        case minMotionFrames = "min_motion_frames"
        case eventGap = "event_gap"
        case maxEventLength = "max_event_length"
        case cooldown
        case darkLuma = "dark_luma"
        case coveredEdges = "covered_edges"
        case coveredDrop = "covered_drop"
        case healthDelay = "health_delay"
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
        shakeTolerance = try value(.shakeTolerance, shakeTolerance)
        quietPlainDifference = try value(.quietPlainDifference, quietPlainDifference)
        relight = try value(.relight, relight)
        lightSwitchFraction = try value(.lightSwitchFraction, lightSwitchFraction)
        cellFill = try value(.cellFill, cellFill)
        minArea = try value(.minArea, minArea)
        minMotionFrames = try value(.minMotionFrames, minMotionFrames)
        eventGap = try value(.eventGap, eventGap)
        maxEventLength = try value(.maxEventLength, maxEventLength)
        cooldown = try value(.cooldown, cooldown)
        darkLuma = try value(.darkLuma, darkLuma)
        coveredEdges = try value(.coveredEdges, coveredEdges)
        coveredDrop = try value(.coveredDrop, coveredDrop)
        healthDelay = try value(.healthDelay, healthDelay)
    }

    /// The first knob whose value is out of range, as a readable problem, or nil when all are valid.
    public var problem: String? {
        let problems: [String?] = [
            Bounds.problem("analysis_width", analysisWidth, 16...7680, unit: "pixels"),
            Bounds.problem("pixel_threshold", pixelThreshold, 1...254),
            [1, 2, 4].contains(noiseMultiplier) ? nil : "noise_multiplier must be 1, 2 or 4 (got \(noiseMultiplier))",
            Bounds.problem("light_switch_fraction", lightSwitchFraction, 0...1),
            Bounds.problem("cell_fill", cellFill, 0...1),
            Bounds.problem("min_area", minArea, 0...1),
            Bounds.problem("covered_drop", coveredDrop, 0...1),
            Bounds.problem("min_motion_frames", minMotionFrames, 1...1000),
            Bounds.problem("event_gap", eventGap, 0...3600, unit: "seconds"),
            Bounds.problem("max_event_length", maxEventLength, 0...86_400, unit: "seconds"),
            Bounds.problem("cooldown", cooldown, 0...86_400, unit: "seconds"),
            Bounds.problem("health_delay", healthDelay, 0...3600, unit: "seconds"),
            Bounds.problem("dark_luma", darkLuma, 0...255),
            Bounds.problem("covered_edges", coveredEdges, 0...255),
        ]
        return problems.lazy.compactMap { $0 }.first
    }
}
