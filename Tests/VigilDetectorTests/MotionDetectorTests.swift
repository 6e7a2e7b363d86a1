import Testing
import VigilDetector
import VigilTesting

extension MotionDetector {
    /// A detector whose config differs from the defaults by `change`.
    static func with(_ change: (inout DetectorConfig) -> Void) -> MotionDetector {
        var settings = CameraDetectionSettings()
        change(&settings.detector)
        return MotionDetector(settings: settings)
    }
}

@Suite("motion detector on synthetic planes")
struct MotionDetectorTests {
    @Test("a noisy static scene shows no motion")
    func staticSceneIsQuiet() {
        var scene = SyntheticScene()
        let detector = MotionDetector()
        for _ in 0..<60 {
            scene.render()
            #expect(!scene.analyze(with: detector).isMotion)
        }
    }

    @Test("a moving square is motion, boxed where it is (to a cell)")
    func movingSquareIsMotion() throws {
        var scene = SyntheticScene()
        let detector = MotionDetector()
        scene.warmUp(detector)
        scene.render(patches: [Patch(x: 200, y: 96, width: 64, height: 64)])
        let analysis = scene.analyze(with: detector)
        #expect(analysis.isMotion)
        let box = try #require(analysis.box)
        #expect(abs(box.x - 200) <= 8 && abs(box.y - 96) <= 8)
        #expect(abs(box.width - 64) <= 16 && abs(box.height - 64) <= 16)
    }

    @Test("isolated changed pixels and thin streaks are not motion; a person-sized patch is")
    func speckleIsIgnored() {
        var scene = SyntheticScene()
        let detector = MotionDetector()
        scene.warmUp(detector)
        var random = KernelAgreementTests.Lcg(state: 17)
        for _ in 0..<20 {
            scene.render()
            for _ in 0..<2000 { scene.pixels[Int(random.next()) * 900 % scene.pixels.count] = 255 }
            for streak in 0..<40 {  // 1-px slanted streaks, 16 px long
                let x = 10 + streak * 15, y = Int(random.next()) % 300
                for step in 0..<16 { scene.pixels[(y + step) * scene.width + x + step / 4] = 255 }
            }
            #expect(!scene.analyze(with: detector).isMotion)
        }
        scene.render(patches: [walker(at: 10)])
        #expect(scene.analyze(with: detector).isMotion)
    }

    @Test("a view that jitters by a pixel or two is not motion")
    func shakeIsTolerated() {
        var scene = SyntheticScene()
        let detector = MotionDetector()
        var random = KernelAgreementTests.Lcg(state: 23)
        for _ in 0..<60 {
            scene.render(shift: (Int(random.next() % 3) - 1, Int(random.next() % 3) - 1))
            #expect(!scene.analyze(with: detector).isMotion)
        }
    }

    @Test("a light step re-baselines without motion, yet a figure moving through it is still found")
    func lightStepKeepsTheMovingObject() throws {
        var scene = SyntheticScene()
        let detector = MotionDetector()
        scene.warmUp(detector)
        for step in 0..<6 {
            scene.render(patches: [walker(at: step)])
            _ = scene.analyze(with: detector)
        }
        scene.render(offset: 40, patches: [walker(at: 6)])
        let during = scene.analyze(with: detector)
        #expect(during.isMotion && during.relitBlocks > 0)
        let box = try #require(during.box)
        #expect(box.width < 200, "only the figure, not the relit picture: \(box)")
        for _ in 0..<10 {
            scene.render(offset: 40)
            _ = scene.analyze(with: detector)
        }
        scene.render(offset: 40)
        #expect(!scene.analyze(with: detector).isMotion)
    }

    @Test("what a light change leaves unexplained (clipped highlights) settles within a few frames")
    func clippedLightSettles() {
        var scene = SyntheticScene()
        let detector = MotionDetector()
        scene.warmUp(detector)
        var motionFrames: [Int] = []
        for frame in 0..<12 {
            scene.render(gain: 2)  // the bright half of the checkerboard clips at 255
            if scene.analyze(with: detector).isMotion { motionFrames.append(frame) }
        }
        #expect(motionFrames.allSatisfy { $0 < 4 }, "still motion on frames \(motionFrames)")
    }

    @Test("a cloud dimming half the scene is not motion, and a figure on the dimmed side still is")
    func halfSceneDimming() throws {
        var scene = SyntheticScene()
        let detector = MotionDetector()
        scene.warmUp(detector)
        var motionBoxes: [PixelBox] = []
        for (index, gain) in [1.0, 0.9, 0.8, 0.7, 0.6, 0.6, 0.6, 0.6].enumerated() {
            scene.render(gain: gain, litFraction: 0.5, patches: [walker(at: index)])
            let analysis = scene.analyze(with: detector)
            if let box = analysis.box { motionBoxes.append(box) }
        }
        #expect(motionBoxes.count >= 6)
        #expect(motionBoxes.allSatisfy { $0.x >= 24 && $0.x + $0.width <= 160 + 8 * 12 }, "\(motionBoxes)")
        for _ in 0..<5 {
            scene.render(gain: 0.6, litFraction: 0.5)
            _ = scene.analyze(with: detector)
        }
        scene.render(gain: 0.6, litFraction: 0.5)
        #expect(!scene.analyze(with: detector).isMotion)
    }

    @Test("an exclude mask hides motion inside it, not outside")
    func maskExcludes() {
        let mask = Polygon([[0, 0], [320, 0], [320, 360], [0, 360]])
        let detector = MotionDetector(settings: CameraDetectionSettings(masks: [mask]))
        var scene = SyntheticScene()
        scene.warmUp(detector)
        scene.render(patches: [Patch(x: 100, y: 100, width: 60, height: 60)])
        #expect(!scene.analyze(with: detector).isMotion)
        scene.render(patches: [Patch(x: 400, y: 100, width: 60, height: 60)])
        #expect(scene.analyze(with: detector).isMotion)
    }

    @Test("zones name where motion was, and each zone has its own minimum area")
    func zonesAndTheirMinimumArea() {
        let door = DetectionZone(name: "door", polygon: Polygon([[0, 0], [200, 0], [200, 360], [0, 360]]),
                                 minArea: 0.001)
        let street = DetectionZone(name: "street", polygon: Polygon([[320, 0], [640, 0], [640, 360], [320, 360]]),
                                   minArea: 0.01)
        let settings = CameraDetectionSettings(zones: [door, street])
        let detector = MotionDetector(settings: settings)
        var scene = SyntheticScene()
        scene.warmUp(detector)
        let small = (width: 24, height: 24)
        scene.render(patches: [Patch(x: 80, y: 100, width: small.width, height: small.height)])
        let inDoor = scene.analyze(with: detector)
        #expect(inDoor.isMotion && settings.zoneNames(inDoor.zones) == ["door"])
        scene.render(patches: [Patch(x: 400, y: 100, width: small.width, height: small.height)])
        #expect(!scene.analyze(with: detector).isMotion, "too small for the street")
        scene.render(patches: [Patch(x: 240, y: 100, width: 60, height: 60)])
        #expect(!scene.analyze(with: detector).isMotion, "outside every zone")
        scene.render(patches: [Patch(x: 400, y: 100, width: 80, height: 80)])
        let inStreet = scene.analyze(with: detector)
        #expect(inStreet.isMotion && settings.zoneNames(inStreet.zones) == ["street"])
    }

    @Test("leaves flickering in one region are learned within seconds and stop being motion; a person crossing it still is")
    func busyRegionIsLearned() {
        var scene = SyntheticScene()
        let detector = MotionDetector()
        scene.warmUp(detector)
        // Twelve leaves of 16x16 px, 40 px apart in a 160x120 px region, each showing or not at random
        // on every frame (a tree swaying in place).
        var seed: UInt64 = 7
        func leaves() -> [Patch] {
            (0..<12).compactMap { leaf in
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return seed >> 63 == 0 ? nil : Patch(x: 400 + leaf % 4 * 40, y: 40 + leaf / 4 * 40, width: 16, height: 16)
            }
        }
        func motionFrames(_ frames: Int, extra: (Int) -> [Patch] = { _ in [] }) -> Int {
            (0..<frames).count { frame in
                scene.render(patches: leaves() + extra(frame))
                return scene.analyze(with: detector).isMotion
            }
        }
        // Unlearned, the leaves are motion; after 10 s (at 15 fps) they are not.
        #expect(motionFrames(15) >= 10)
        _ = motionFrames(135)
        #expect(motionFrames(75) == 0)
        // A person-sized figure crossing the region is motion on every frame it is inside it.
        #expect(motionFrames(12) { [walker(at: 30 + $0, y: 60)] } == 12)
    }

    @Test("quiet_plain_difference (the default): a faint figure inside the background's 3x3 range is motion at once where the scene is quiet; a region that shifts in place is learned and is never motion, nor does it hide the figure elsewhere")
    func rangeTestOnlyWhereNeeded() {
        var scene = SyntheticScene()
        let detector = MotionDetector()
        let everywhere = MotionDetector.with { $0.quietPlainDifference = false }
        // Stripes 2 px wide (one averaged pixel), 100 and 140, in 160x120 px regions: each averaged
        // pixel's 3x3 background range spans 100-140. The right region may shift by a pixel.
        func stripes(x: Int, phase: Int) -> [Patch] {
            (0..<80).map { Patch(x: x + 2 * $0, y: 40, width: 2, height: 120, value: ($0 + phase) % 2 == 0 ? 100 : 140) }
        }
        func render(shift: Int, extra: [Patch] = []) -> Bool {
            scene.render(patches: stripes(x: 80, phase: 0) + stripes(x: 400, phase: shift) + extra)
            return scene.analyze(with: detector).isMotion
        }
        for _ in 0..<15 {
            _ = render(shift: 0)
            _ = scene.analyze(with: everywhere)
        }
        // A figure of 120: 20 levels from every background pixel, inside every range. The range test
        // everywhere (`quiet_plain_difference: false`) does not see it; the default sees it on its first frame.
        let figure = Patch(x: 120, y: 60, width: 30, height: 70, value: 120)
        #expect(render(shift: 0, extra: [figure]))
        #expect(!scene.analyze(with: everywhere).isMotion)
        for _ in 0..<15 { _ = render(shift: 0) }
        #expect(!detector.seesMovementInPlace)
        // The right stripes shift in place at random (leaves, water): never motion (the whole view
        // counts as jittering until the region is learned, and 2 s after), and learned as moving in
        // place (so the daemon decodes every frame: packet sizes cannot tell a person there)...
        var random = KernelAgreementTests.Lcg(state: 31)
        #expect((0..<90).count { _ in render(shift: Int(random.next() % 2)) } == 0)
        #expect(detector.seesMovementInPlace)
        // ...and once learned, the figure over the quiet stripes is again motion on its first frame.
        #expect(render(shift: Int(random.next() % 2), extra: [figure]))
    }

    @Test("a strip whose picture is its background under a gain alone (an edge the encoder refreshes late while the light dims) is not motion unless relight is off; a figure over the strip is motion")
    func gainOnlyStripIsLight() {
        var scene = SyntheticScene()
        let detector = MotionDetector()
        let withoutRelight = MotionDetector.with { $0.relight = false }
        for _ in 0..<20 {
            scene.render()
            _ = scene.analyze(with: detector)
            _ = scene.analyze(with: withoutRelight)
        }
        // 48x104 px (whole cells, as the encoder's macroblocks are) at 80% of their level: 12-37 levels
        // darker over the checkerboard, too narrow for the blocks' relight (no three neighbours agree).
        func renderDimmedStrip(patches: [Patch] = []) {
            scene.render(patches: patches)
            for y in 96..<200 {
                for x in 304..<352 { scene.pixels[y * scene.width + x] = UInt8(Double(scene.pixels[y * scene.width + x]) * 0.8) }
            }
        }
        for _ in 0..<3 {
            renderDimmedStrip()
            #expect(!scene.analyze(with: detector).isMotion)
            #expect(scene.analyze(with: withoutRelight).isMotion)
        }
        renderDimmedStrip(patches: [Patch(x: 310, y: 110, width: 30, height: 70, value: 120)])
        #expect(scene.analyze(with: detector).isMotion)
    }

    @Test("a view turned sideways whose vertical edges lie in a band of a third of its height is a new view (moved), not motion")
    func sidewaysShiftIsNewView() {
        var scene = SyntheticScene()
        let detector = MotionDetector()
        // Texture only in rows 120-239: elsewhere the picture is flat, so a sideways turn changes
        // only the band (the changed objects do not span the view's height).
        func render(shiftX: Int) -> FrameAnalysis {
            scene.render(shift: (shiftX, 0))
            for y in 0..<scene.height where !(120..<240).contains(y) {
                for x in 0..<scene.width { scene.pixels[y * scene.width + x] = 100 }
            }
            return scene.analyze(with: detector)
        }
        for _ in 0..<20 { #expect(!render(shiftX: 0).isMotion) }
        let turned = (0..<20).map { _ in render(shiftX: 8) }
        #expect(turned.filter(\.isMotion).isEmpty)
        #expect(turned.filter(\.viewMoved).count == 1)
    }

    @Test("a new picture size relearns instead of comparing")
    func resizeRelearns() {
        var large = SyntheticScene()
        var small = SyntheticScene(width: 320, height: 180)
        let detector = MotionDetector()
        large.render()
        _ = large.analyze(with: detector)
        small.render(patches: [Patch(x: 10, y: 10, width: 100, height: 100)])
        #expect(small.analyze(with: detector).relearned)
        #expect(detector.analysisSize.width == 320)
    }

    @Test("every SIMD level gives the same analysis")
    func isaLevelsAgree() {
        let detectors = KernelISA.allCases.filter(\.isSupported).map { MotionDetector(isa: $0) }
        var scene = SyntheticScene(width: 1280, height: 720)
        for step in 0..<20 {
            scene.render(offset: step == 12 ? 30 : 0, patches: step > 5 ? [Patch(x: 50 + step * 20, y: 300, width: 80, height: 80)] : [])
            let results = detectors.map { scene.analyze(with: $0) }
            #expect(Set(results.map(\.changedFraction)).count == 1)
            #expect(Set(results.map { $0.box?.array ?? [] }).count == 1)
        }
    }
}

@Suite("camera health on synthetic planes")
struct CameraHealthTests {
    static let fps = 15.0

    /// Feeds `frames` frames from `render` and returns every non-empty output with its time.
    /// Every `keyframeInterval`th frame is a keyframe.
    static func run(_ detection: CameraDetector, _ scene: inout SyntheticScene, from first: Int, frames: Int,
                    keyframeInterval: Int = 30, render: (inout SyntheticScene) -> Void) -> [(Double, AnalyzerOutput)]
    {
        var outputs: [(Double, AnalyzerOutput)] = []
        for frame in first..<first + frames {
            render(&scene)
            let time = Double(frame) / fps
            let output = scene.process(with: detection, at: time, isKeyframe: frame % keyframeInterval == 0)
            if !output.isEmpty { outputs.append((time, output)) }
        }
        return outputs
    }

    static func detection() -> CameraDetector {
        var config = DetectorConfig()
        config.healthDelay = 1
        return CameraDetector(settings: CameraDetectionSettings(detector: config))
    }

    @Test("a black picture is dark, a uniform one covered; each begins after the delay and ends when it goes",
          arguments: [(16, CameraHealthKind.dark), (120, .covered)])
    func darkAndCovered(level: Int, kind: CameraHealthKind) throws {
        let detection = Self.detection()
        var scene = SyntheticScene()
        #expect(Self.run(detection, &scene, from: 0, frames: 30) { $0.render() }.isEmpty)
        let during = Self.run(detection, &scene, from: 30, frames: 45) { scene in
            scene.render()
            scene.pixels = scene.pixels.map { _ in UInt8(level) }
        }
        let started = try #require(during.first)
        #expect(during.count == 1 && started.1.healthStarted == HealthEvent(kind: kind, start: 2.0))
        #expect(detection.currentHealth == HealthEvent(kind: kind, start: 2.0))
        #expect(abs(started.0 - 3.0) < 0.01, "begins once it has held for the delay")
        let after = Self.run(detection, &scene, from: 75, frames: 30) { $0.render() }
        #expect(after.count == 1, "ends, and the view coming back is not motion: \(after)")
        #expect(after.first?.1.healthEnded == HealthEvent(kind: kind, start: 2.0, end: 5.0))
        #expect(detection.currentHealth == nil && !detection.isInMotionEvent)
    }

    @Test("a figure walking through is one event: started when confirmed, ended with its box and zones")
    func motionStartsAndEnds() throws {
        let zone = DetectionZone(name: "sidewalk", polygon: Polygon([[0, 100], [640, 100], [640, 300], [0, 300]]))
        let detection = CameraDetector(settings: CameraDetectionSettings(zones: [zone]))
        var scene = SyntheticScene()
        _ = Self.run(detection, &scene, from: 0, frames: 15) { $0.render() }
        var step = 0
        let walking = Self.run(detection, &scene, from: 15, frames: 30) { scene in
            scene.render(patches: [walker(at: step)])
            step += 1
        }
        let started = try #require(walking.first)
        #expect(walking.count == 1 && started.1.motionEnded == nil)
        let onset = try #require(started.1.motionStarted)
        #expect(onset.start == 1.0 && onset.confirmedAt == started.0 && started.0 == 17 / Self.fps)
        #expect(detection.isInMotionEvent)
        let after = Self.run(detection, &scene, from: 45, frames: 30) { $0.render() }
        let ended = try #require(after.first?.1.motionEnded)
        #expect(after.count == 1)
        #expect(ended.start == 1.0 && ended.end == 3.0 && ended.frames == 30 && ended.zones == ZoneSet(index: 0))
        #expect(ended.box.x <= 48 && ended.box.x + ended.box.width >= 40 + 29 * 12 + 30 - 8)
        #expect(ended.peakTime >= ended.start && ended.peakTime < ended.end && ended.peakArea > 0)
    }

    @Test("identical frames with repeating keyframes are frozen; a keyframe re-encoding it does not end it, a live picture does")
    func frozen() throws {
        let detection = Self.detection()
        var scene = SyntheticScene()
        _ = Self.run(detection, &scene, from: 0, frames: 15, keyframeInterval: 10) { $0.render() }
        // Frames keep arriving, nothing changes: keyframe 20 still differs from keyframe 10, 30 repeats 20.
        let still = scene.pixels
        let during = Self.run(detection, &scene, from: 15, frames: 45, keyframeInterval: 10) { $0.pixels = still }
        #expect(during.compactMap(\.1.healthStarted) == [HealthEvent(kind: .frozen, start: 1.0)])
        #expect(during.first?.0 == 2.0)
        // A keyframe re-encodes the frozen picture: a few levels off here and there, then identical frames again.
        for index in stride(from: 0, to: scene.pixels.count, by: 20) { scene.pixels[index] &+= 1 }
        let blip = Self.run(detection, &scene, from: 60, frames: 6, keyframeInterval: 10) { _ in }
        #expect(blip.isEmpty)
        let live = Self.run(detection, &scene, from: 66, frames: 10, keyframeInterval: 10) { $0.render() }
        #expect(live.compactMap(\.1.healthEnded) == [HealthEvent(kind: .frozen, start: 1.0, end: 66 / Self.fps)])
    }

    @Test("hysteresis: an object being followed stays one event when it shrinks below min_area; alone, that size is nothing")
    func trackedObjectShrinks() {
        func patch(_ step: Int, side: Int) -> Patch { Patch(x: 64 + 8 * step, y: 160, width: side, height: side) }
        let detection = CameraDetector()
        var scene = SyntheticScene()
        _ = Self.run(detection, &scene, from: 0, frames: 30) { $0.render() }
        var step = 0
        let outputs = Self.run(detection, &scene, from: 30, frames: 75) { scene in
            // 16x16 px for 1 s, then 8x8 px (16 averaged pixels: under min_area's 17.3) for 2 s, then gone.
            scene.render(patches: step < 45 ? [patch(step, side: step < 15 ? 16 : 8)] : [])
            step += 1
        }
        #expect(outputs.compactMap(\.1.motionStarted).count == 1)
        let ended = outputs.compactMap(\.1.motionEnded)
        #expect(ended.count == 1 && abs((ended.first?.end ?? 0) - 5.0) < 0.15, "\(ended)")
        let alone = CameraDetector()
        var empty = SyntheticScene()
        _ = Self.run(alone, &empty, from: 0, frames: 30) { $0.render() }
        step = 15
        #expect(Self.run(alone, &empty, from: 30, frames: 30) { scene in
            scene.render(patches: [patch(step, side: 8)])
            step += 1
        }.isEmpty)
    }

    @Test("a live scene the encoder skip-codes (pictures repeat between keyframes with fresh noise) is never frozen")
    func skipCodedSceneIsLive() {
        let detection = Self.detection()
        var scene = SyntheticScene()
        var outputs: [(Double, AnalyzerOutput)] = []
        for frame in 0..<300 {
            // Only each keyframe (every 2 s) and the frame after it carry new noise.
            if frame % 30 < 2 { scene.render() }
            let output = scene.process(with: detection, at: Double(frame) / Self.fps, isKeyframe: frame % 30 == 0)
            if !output.isEmpty { outputs.append((Double(frame) / Self.fps, output)) }
        }
        #expect(outputs.isEmpty, "\(outputs)")
    }
}

@Suite("camera health monitor")
struct CameraHealthMonitorTests {
    static func monitor() -> CameraHealthMonitor {
        CameraHealthMonitor(config: DetectorConfig())
    }

    /// Feeds `seconds` of pictures at 15 fps from `edges(time)`; returns the states started.
    static func feed(_ monitor: inout CameraHealthMonitor, from start: Double = 0, seconds: Double, luma: Double = 60,
                     edges: (Double) -> Double) -> [HealthEvent]
    {
        stride(from: start, to: start + seconds, by: 1 / 15).compactMap { time in
            monitor.observe(PictureStatistics(meanLuma: luma, edgeEnergy: edges(time), identicalToPrevious: false),
                            at: time).started
        }
    }

    @Test("a dark, flat night scene is not covered, nor is night falling over minutes")
    func nightIsNotCovered() {
        var flat = Self.monitor()
        #expect(Self.feed(&flat, seconds: 60) { _ in 0.7 }.isEmpty)
        var dusk = Self.monitor()
        // Edge energy falls from 10 to 1 over four minutes.
        #expect(Self.feed(&dusk, seconds: 240) { 10 - 9 * $0 / 240 }.isEmpty)
        #expect((dusk.normalEdges ?? 0) < 2.5, "the learned level follows the dusk (about 30 s behind)")
    }

    @Test("the edges going within a second is covered, against what this camera showed, also at night")
    func fastDropIsCovered() throws {
        for normal in [12.0, 1.2] {
            var monitor = Self.monitor()
            #expect(Self.feed(&monitor, seconds: 30) { _ in normal }.isEmpty)
            let started = Self.feed(&monitor, from: 30, seconds: 5) { normal * max(0.1, 1 - ($0 - 30)) }
            let covered = try #require(started.first)
            #expect(started.count == 1 && covered.kind == .covered)
            #expect(covered.start > 30.5 && covered.start < 31, "from the frame the edges fell under a quarter")
        }
    }
}

@Suite("motion event tracker")
struct MotionEventTrackerTests {
    static let picture = PictureStatistics(meanLuma: 120, edgeEnergy: 10, identicalToPrevious: false)
    static let motion = FrameAnalysis(changedFraction: 0.1, isMotion: true, box: PixelBox(x: 1, y: 2, width: 3, height: 4),
                                      relearned: false, picture: picture)
    static let quiet = FrameAnalysis(changedFraction: 0, isMotion: false, box: nil, relearned: false, picture: picture)

    /// Feeds frames at 10 fps; `moving(frame)` says which are motion. Returns every update that did something.
    static func feed(_ tracker: inout MotionEventTracker, frames: Range<Int>,
                     moving: (Int) -> Bool) -> [(time: Double, update: MotionEventTracker.Update)]
    {
        frames.compactMap { frame in
            let time = Double(frame) / 10
            let update = tracker.observe(moving(frame) ? motion : quiet, at: time)
            return update.started == nil && update.ended == nil ? nil : (time, update)
        }
    }

    @Test("short blips below min motion frames make no event")
    func blipsAreIgnored() {
        var tracker = MotionEventTracker(minMotionFrames: 3, eventGap: 1)
        #expect(Self.feed(&tracker, frames: 0..<100) { $0 % 10 < 2 }.isEmpty)
        #expect(tracker.finish(at: 10) == nil)
    }

    @Test("an event is confirmed on its third frame and runs to the first quiet frame; short gaps merge")
    func eventBounds() throws {
        var tracker = MotionEventTracker(minMotionFrames: 3, eventGap: 1)
        // Motion 1.0-2.0 s, a 0.5 s pause, motion 2.5-3.0 s, then quiet.
        let updates = Self.feed(&tracker, frames: 0..<60) { (10..<20).contains($0) || (25..<30).contains($0) }
        #expect(updates.count == 2)
        let started = try #require(updates.first?.update.started)
        #expect(started.start == 1.0 && started.confirmedAt == 1.2)
        let event = try #require(updates.last?.update.ended)
        #expect(event.start == 1.0 && event.end == 3.0 && event.frames == 15 && event.confirmedAt == 1.2)
    }

    @Test("an event still running at the end is closed by finish")
    func finishCloses() throws {
        var tracker = MotionEventTracker(minMotionFrames: 2, eventGap: 1)
        for frame in 0..<5 { _ = tracker.observe(Self.motion, at: Double(frame)) }
        let finished = tracker.finish(at: 4)
        let event = try #require(finished)
        #expect(event.start == 0 && event.end == 4 && event.frames == 5)
    }

    @Test("a long event is split at its maximum length: one ends and the next starts on the same frame")
    func maxEventLengthSplits() throws {
        var tracker = MotionEventTracker(minMotionFrames: 3, eventGap: 1, maxEventLength: 2)
        let updates = Self.feed(&tracker, frames: 0..<50) { _ in true }
        let splits = updates.filter { $0.update.ended != nil }
        #expect(splits.map(\.time) == [2.0, 4.0])
        for split in splits {
            let ended = try #require(split.update.ended), started = try #require(split.update.started)
            #expect(ended.end == split.time && ended.end - ended.start == 2)
            #expect(started.start == split.time && started.confirmedAt == split.time)
        }
    }

    @Test("after an event, no new one is confirmed during the cooldown; motion that outlasts it still counts")
    func cooldownHoldsBackFloods() throws {
        var tracker = MotionEventTracker(minMotionFrames: 3, eventGap: 0.5, cooldown: 3)
        // Bursts of 0.5 s every 1.5 s: without a cooldown, each would be an event.
        let bursts = Self.feed(&tracker, frames: 0..<60) { $0 % 15 < 5 }
        let starts = bursts.compactMap(\.update.started)
        #expect(starts.map(\.confirmedAt) == [0.2, 4.7])
        var free = MotionEventTracker(minMotionFrames: 3, eventGap: 0.5)
        #expect(Self.feed(&free, frames: 0..<60) { $0 % 15 < 5 }.compactMap(\.update.started).count == 4)
    }

    @Test("the peak frame is flagged when a run of motion starts and each time its changed fraction grows")
    func peakFramesAreFlagged() throws {
        var tracker = MotionEventTracker(minMotionFrames: 2, eventGap: 0.5)
        func frame(_ fraction: Double?) -> FrameAnalysis {
            guard let fraction else { return Self.quiet }
            var analysis = Self.motion
            analysis.changedFraction = fraction
            return analysis
        }
        let fractions: [Double?] = [0.05, 0.2, 0.1, 0.3, 0.3, nil, nil, nil, nil, nil, nil, nil, 0.01, 0.02]
        var flags: [Bool] = []
        var ended: MotionEvent?
        for (index, fraction) in fractions.enumerated() {
            let update = tracker.observe(frame(fraction), at: Double(index) / 10)
            flags.append(update.isNewPeak)
            ended = ended ?? update.ended
        }
        #expect(flags == [true, true, false, true, false, false, false, false, false, false, false, false, true, true])
        let event = try #require(ended)
        #expect(event.peakTime == 0.3 && event.peakArea == 0.3)
    }
}
