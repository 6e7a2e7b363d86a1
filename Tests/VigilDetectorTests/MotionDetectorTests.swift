import Testing
import VigilDetector

/// A synthetic scene: a textured background with seeded noise and an optional bright square.
struct SyntheticScene {
    let width: Int
    let height: Int
    var pixels: [UInt8]
    private var seed: UInt64 = 1

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height)
    }

    mutating func noise() -> Int {
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int(seed >> 61) - 3  // -3...4
    }

    /// Renders the background (+ brightness offset) with noise and a square at `square`.
    mutating func render(offset: Int = 0, square: (x: Int, y: Int, size: Int)? = nil) {
        for y in 0..<height {
            for x in 0..<width {
                var value = 60 + (x * 97 / width) + ((x / 16 + y / 16) % 2) * 30 + offset + noise()
                if let square, (square.x..<square.x + square.size).contains(x),
                    (square.y..<square.y + square.size).contains(y)
                {
                    value = 230
                }
                pixels[y * width + x] = UInt8(clamping: value)
            }
        }
    }

    func analyze(with detector: MotionDetector) -> FrameAnalysis {
        pixels.withUnsafeBufferPointer {
            detector.analyze(LumaPlane(base: $0.baseAddress!, stride: width, width: width, height: height))
        }
    }
}

@Suite("motion detector on synthetic planes")
struct MotionDetectorTests {
    @Test("a noisy static scene shows no motion")
    func staticSceneIsQuiet() {
        var scene = SyntheticScene(width: 640, height: 360)
        let detector = MotionDetector()
        for _ in 0..<60 {
            scene.render()
            #expect(!scene.analyze(with: detector).isMotion)
        }
    }

    @Test("a moving square is motion, boxed where it is")
    func movingSquareIsMotion() throws {
        var scene = SyntheticScene(width: 640, height: 360)
        let detector = MotionDetector()
        for _ in 0..<10 {
            scene.render()
            _ = scene.analyze(with: detector)
        }
        scene.render(square: (x: 200, y: 100, size: 60))
        let analysis = scene.analyze(with: detector)
        #expect(analysis.isMotion)
        let box = try #require(analysis.box)
        #expect(abs(box.x - 200) <= 4 && abs(box.y - 100) <= 4)
        #expect(abs(box.width - 60) <= 6 && abs(box.height - 60) <= 6)
    }

    @Test("a global brightness step relearns the background instead of reporting motion")
    func lightStepRelearns() {
        var scene = SyntheticScene(width: 640, height: 360)
        let detector = MotionDetector()
        for _ in 0..<10 {
            scene.render()
            _ = scene.analyze(with: detector)
        }
        scene.render(offset: 40)
        let step = scene.analyze(with: detector)
        #expect(step.relearned && !step.isMotion)
        for _ in 0..<10 {
            scene.render(offset: 40)
            #expect(!scene.analyze(with: detector).isMotion)
        }
    }

    @Test("a new picture size relearns instead of comparing")
    func resizeRelearns() {
        var large = SyntheticScene(width: 640, height: 360)
        var small = SyntheticScene(width: 320, height: 180)
        let detector = MotionDetector()
        large.render()
        _ = large.analyze(with: detector)
        small.render(square: (x: 10, y: 10, size: 100))
        #expect(small.analyze(with: detector).relearned)
        #expect(detector.analysisSize.width == 320)
    }

    @Test("every SIMD level gives the same analysis")
    func isaLevelsAgree() {
        let detectors = KernelISA.allCases.filter(\.isSupported).map { MotionDetector(isa: $0) }
        var scene = SyntheticScene(width: 1280, height: 720)
        for step in 0..<20 {
            scene.render(square: step > 5 ? (x: 50 + step * 20, y: 300, size: 80) : nil)
            let results = detectors.map { scene.analyze(with: $0) }
            #expect(Set(results.map(\.changedFraction)).count == 1)
            #expect(Set(results.map { $0.box?.array ?? [] }).count == 1)
        }
    }
}

@Suite("motion event tracker")
struct MotionEventTrackerTests {
    static let motion = FrameAnalysis(changedFraction: 0.1, isMotion: true, box: PixelBox(x: 1, y: 2, width: 3, height: 4),
                                      relearned: false)
    static let quiet = FrameAnalysis(changedFraction: 0, isMotion: false, box: nil, relearned: false)

    @Test("short blips below min motion frames make no event")
    func blipsAreIgnored() {
        var tracker = MotionEventTracker(minMotionFrames: 3, eventGap: 1)
        var events: [MotionEvent] = []
        for frame in 0..<100 {
            let analysis = frame % 10 < 2 ? Self.motion : Self.quiet
            if let event = tracker.observe(analysis, at: Double(frame) / 10) { events.append(event) }
        }
        #expect(events.isEmpty)
        #expect(tracker.finish() == nil)
    }

    @Test("an event runs from the first motion frame to the first quiet frame, gaps within event_gap merge")
    func eventBounds() throws {
        var tracker = MotionEventTracker(minMotionFrames: 3, eventGap: 1)
        var events: [MotionEvent] = []
        // Motion 1.0-2.0 s, a 0.5 s pause, motion 2.5-3.0 s, then quiet.
        for frame in 0..<60 {
            let time = Double(frame) / 10
            let moving = (10..<20).contains(frame) || (25..<30).contains(frame)
            if let event = tracker.observe(moving ? Self.motion : Self.quiet, at: time) { events.append(event) }
        }
        let event = try #require(events.first)
        #expect(events.count == 1)
        #expect(event.start == 1.0)
        #expect(event.end == 3.0)
        #expect(event.frames == 15)
    }

    @Test("an event still running at the end is closed by finish")
    func finishCloses() throws {
        var tracker = MotionEventTracker(minMotionFrames: 2, eventGap: 1)
        for frame in 0..<5 { _ = tracker.observe(Self.motion, at: Double(frame)) }
        let finished = tracker.finish()
        let event = try #require(finished)
        #expect(event.start == 0 && event.end == 4 && event.frames == 5)
    }
}
