import VigilDetector

/// A rectangle drawn into a synthetic scene, in source pixels (a person, a light, a hand on the lens).
public struct Patch: Sendable {
    public var x: Int, y: Int, width: Int, height: Int
    /// Its gray level.
    public var value = 230

    public init(x: Int, y: Int, width: Int, height: Int, value: Int = 230) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.value = value
    }
}

/// A synthetic scene: a textured background (gradient plus a 16-px checkerboard) with seeded
/// noise, seen through a shifted view, lit by a gain and an offset, with bright patches on top.
/// The same seed gives the same pictures, so results are reproducible.
public struct SyntheticScene: Sendable {
    public let width: Int
    public let height: Int
    /// The last rendered picture, row after row (stride = width).
    public var pixels: [UInt8]
    private var seed: UInt64 = 1

    public init(width: Int = 640, height: Int = 360) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height)
    }

    /// The next value of the seeded noise, in -3...4.
    private mutating func noise() -> Int {
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int(seed >> 61) - 3
    }

    /// Renders a new frame. `gain` and `offset` light the left `litFraction` of the picture.
    public mutating func render(offset: Int = 0, gain: Double = 1, litFraction: Double = 1,
                                shift: (x: Int, y: Int) = (0, 0), patches: [Patch] = [])
    {
        let litWidth = Int(Double(width) * litFraction)
        for y in 0..<height {
            for x in 0..<width {
                let sx = x + shift.x, sy = y + shift.y
                var value = 60 + (sx * 97 / width) + ((sx / 16 + sy / 16) % 2) * 30
                if x < litWidth { value = Int(Double(value) * gain) + offset }
                pixels[y * width + x] = UInt8(clamping: value + noise())
            }
        }
        for patch in patches {
            for y in max(patch.y, 0)..<min(patch.y + patch.height, height) {
                for x in max(patch.x, 0)..<min(patch.x + patch.width, width) {
                    pixels[y * width + x] = UInt8(clamping: patch.value)
                }
            }
        }
    }

    /// Passes the last rendered picture to `body` as a borrowed luma plane.
    public func withPlane<Result>(_ body: (LumaPlane) throws -> Result) rethrows -> Result {
        try pixels.withUnsafeBufferPointer {
            try body(LumaPlane(base: $0.baseAddress!, stride: width, width: width, height: height))
        }
    }

    /// The motion detector's analysis of the last rendered picture.
    public func analyze(with detector: MotionDetector) -> FrameAnalysis {
        withPlane { detector.analyze($0) }
    }

    /// The camera detection's output for the last rendered picture at media time `time`.
    public func process(with detection: CameraDetector, at time: Double, isKeyframe: Bool = false) -> AnalyzerOutput {
        withPlane { detection.process($0, at: time, isKeyframe: isKeyframe) }
    }

    /// Renders and analyses `frames` quiet frames, so the background and the noise are learned.
    public mutating func warmUp(_ detector: MotionDetector, frames: Int = 10) {
        for _ in 0..<frames {
            render()
            _ = analyze(with: detector)
        }
    }
}

/// A person-sized patch walking right by 12 px a frame, at frame `step`.
public func walker(at step: Int, y: Int = 150) -> Patch {
    Patch(x: 40 + step * 12, y: y, width: 30, height: 70)
}
