import CVigilKernels

/// What the detector saw in one frame.
public struct FrameAnalysis: Sendable, Equatable {
    /// Fraction of the picture covered by the changed pixels of counted objects (0-1).
    public var changedFraction: Double
    /// The frame counts as motion: at least one object big enough (inside a zone, when there are zones).
    public var isMotion: Bool
    /// Union of the counted objects, in source pixels, set on motion frames.
    public var box: PixelBox?
    /// The zones the counted objects reached.
    public var zones: ZoneSet
    /// The background was (re)learned from this frame: first frame, new size, or a light switch.
    public var relearned: Bool
    /// Blocks of the background relit because the light changed there.
    public var relitBlocks: Int
    /// Whole-picture measurements for the camera-health checks.
    public var picture: PictureStatistics
    /// The view moved for good (the camera was bumped or turned) and has been still since
    /// `MotionDetector.viewSettleFrames` frames: the background was relearned from this frame.
    public var viewMoved = false

    public init(changedFraction: Double, isMotion: Bool, box: PixelBox?, zones: ZoneSet = [], relearned: Bool,
                relitBlocks: Int = 0, picture: PictureStatistics)
    {
        self.changedFraction = changedFraction
        self.isMotion = isMotion
        self.box = box
        self.zones = zones
        self.relearned = relearned
        self.relitBlocks = relitBlocks
        self.picture = picture
    }

    static func relearnedFrame(_ picture: PictureStatistics) -> FrameAnalysis {
        FrameAnalysis(changedFraction: 0, isMotion: false, box: nil, relearned: true, picture: picture)
    }
}

/// Which SIMD instruction set the detector's kernels use.
public enum KernelISA: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case scalar = 0
    case sse2 = 1
    case avx2 = 2

    /// The best one this CPU supports.
    public static var best: KernelISA { KernelISA(rawValue: Int32(vk_best_isa().rawValue)) ?? .scalar }

    public var isSupported: Bool { vk_isa_supported(cValue) != 0 }

    var cValue: vk_isa { vk_isa(rawValue: UInt32(rawValue)) }

    public var description: String {
        switch self {
        case .scalar: "scalar"
        case .sse2: "SSE2"
        case .avx2: "AVX2"
        }
    }
}

/// Motion detection on luma planes against a per-pixel sigma-delta background.
///
/// Per frame: box-average down to about `analysisWidth` pixels wide; measure block sums for the
/// light and the camera-health measures (`BlockStatistics`); while the picture is dark or covered,
/// and until the view has settled after it, just follow the picture; relight the background where
/// the light changed (`LightCompensator`); mark the pixels that lie outside the background's 3x3
/// range by more than their own learned noise (so a jittering view is tolerated); count the
/// changed pixels outside the masks in 4x4 cells; learn which regions move in place (foliage,
/// water: `DynamicCells`); group active cells into objects and keep those big enough, pixels in
/// busy regions weighing less (`ObjectFinder`). The background and the noise estimate move one level a frame
/// towards the picture, which absorbs slow light changes. Buffers are allocated when the picture
/// size changes, never per frame. One instance serves one camera on one thread.
public final class MotionDetector {
    /// Side of the cells objects are made of, in averaged pixels.
    static let cell = 4
    /// After a dark or covered picture, the view has come back once fewer than this share of the
    /// blocks changed brightness since the previous frame.
    static let settledFraction = 0.25
    /// A relight of at least this share of the blocks is a light change worth settling after.
    static let lightChangeFraction = 0.2
    /// Frames after a light change during which still blocks take the picture as their background,
    /// and how many frames a block must have been still for that.
    static let settlingFrames = 30
    static let stillBlockFrames: UInt8 = 2
    /// A share of the picture at least this large that differs from the background, spread over
    /// `viewSpan` of its width and height (or matching the background shifted by up to
    /// `maxViewShift` averaged pixels), while the picture stands still from frame to frame is a
    /// new view, not motion...
    static let viewChangeFraction = 0.05
    static let viewSpan = 0.6
    static let maxViewShift = (x: 24, y: 12)
    /// The background shifted by the best offset matches when it differs from the picture by at most
    /// this share of what the unshifted background does.
    static let shiftedViewShare = 0.5
    /// ...where fewer than this share of the blocks changed brightness since the previous frame...
    static let stillViewFraction = 0.1
    /// ...for this many frames in a row: then the background is relearned (`viewMoved`).
    public static let viewSettleFrames = 8
    /// While an event is under way, objects count from this share of `min_area`.
    public static let trackedAreaShare = 0.5
    /// The whole view is unsettled (it jitters: a shaking pole, wind on the camera; or rain, or what
    /// a light change leaves) when, outside the regions learned as moving in place, more than this
    /// share of the picture differs from its own background but lies within the background's 3x3
    /// range, and those pixels outnumber the ones beyond the range...
    static let jitterShare = 0.01
    /// ...or more than this share of the cells holds such pixels (spread over the picture; a
    /// person's faint edges fill a few dozen cells)...
    static let jitterCellShare = 0.02
    /// ...and then every pixel counts only beyond the range for this many seconds of media time.
    static let jitterHoldSeconds = 2.0
    /// Above this share of the cells in regions that move in place, the scene moves in place
    /// (`seesMovementInPlace`).
    static let movementInPlaceShare = 0.01
    /// A change of the mean luma by more than this many levels is the light's (else a large change
    /// is the view's: the same scene, shifted).
    static let lightLevels = 4.0

    public let settings: CameraDetectionSettings
    public var config: DetectorConfig { settings.detector }
    public let isa: KernelISA

    private var sourceWidth = 0
    private var sourceHeight = 0
    private var factor = 1
    private var width = 0
    private var height = 0
    private var current = ScratchBuffer<UInt8>()
    /// The background, and the buffer its next state is written to (swapped every frame).
    private var background = ScratchBuffer<UInt8>()
    private var nextBackground = ScratchBuffer<UInt8>()
    private var variance = ScratchBuffer<UInt8>()
    private var mask = ScratchBuffer<UInt8>()
    /// Per 4x4 cell: the pixels that count as motion where the region is quiet, and those beyond the range.
    private var quietCounts = ScratchBuffer<UInt8>()
    private var beyondRangeCounts = ScratchBuffer<UInt8>()
    /// Seconds of media time left during which the whole view counts as unsettled.
    private var jitterLeft = 0.0
    /// The last keyframe's averaged picture (for the frozen check).
    private var lastKeyframe = ScratchBuffer<UInt8>()
    private var hasLastKeyframe = false
    private var regions = RegionMap()
    private var objects = ObjectFinder()
    private var dynamics = DynamicCells()
    private var blocks = BlockStatistics()
    private var light = LightCompensator()
    private var hasBackground = false
    /// Following the picture after it was dark or covered, until the view has settled.
    private var recovering = false
    /// Frames left in which still blocks are absorbed after a light change.
    private var settling = 0
    /// Frames in a row that showed a still, different view.
    private var newViewFrames = 0
    /// The first of them was the background shifted (`isShiftedView`).
    private var viewShifted = false
    private let parameters: vk_sigma_delta_params
    private let minCellCount: UInt8
    private let maxLightResidual: Double

    public init(settings: CameraDetectionSettings = CameraDetectionSettings(), isa: KernelISA = .best) {
        precondition(settings.problem == nil, settings.problem ?? "")
        self.settings = settings
        self.isa = isa
        let config = settings.detector
        parameters = vk_sigma_delta_params(
            min_threshold: UInt8(config.pixelThreshold), min_variance: 2, max_variance: 200,
            noise_shift: UInt8(config.noiseMultiplier.trailingZeroBitCount),
            shake_tolerant: config.shakeTolerance ? 1 : 0)
        let cellPixels = Double(Self.cell * Self.cell)
        minCellCount = UInt8(max(1, min(cellPixels, (config.cellFill * cellPixels).rounded(.up))))
        // The light explains a block when its misfit stays within half the pixel threshold (rms).
        maxLightResidual = Double(config.pixelThreshold * config.pixelThreshold) / 4
    }

    /// Whether the picture is settling after a light change (a fifth of the picture relit within
    /// the last `settlingFrames` frames).
    public var isSettlingLight: Bool { settling > 0 }

    /// Whether a still, different view is settling (it becomes `viewMoved` if it stays).
    public var isSettlingNewView: Bool { newViewFrames > 0 }

    /// Whether more than `movementInPlaceShare` of the cells are learned as moving in place (leaves,
    /// water; with `quiet_plain_difference`): their changes fill the encoder's packets, so the sizes
    /// cannot tell a person who enters. (Sensor noise alone marks a few dozen cells at most.)
    public var seesMovementInPlace: Bool {
        Double(dynamics.movingCells) > Self.movementInPlaceShare * Double(objects.counts.count)
    }

    /// The size of the averaged picture the detector works on.
    public var analysisSize: (width: Int, height: Int, factor: Int) { (width, height, factor) }

    /// Forgets the background; the next frame is learned, not compared (after a gap in the stream).
    public func reset() {
        hasBackground = false
        blocks.forgetPrevious()
        recovering = false
        settling = 0
        newViewFrames = 0
    }

    /// Compares one frame with the background and updates the background. `isKeyframe`: the
    /// frame is a keyframe (it is compared with the previous one, for the frozen check).
    /// `blank`: the test of a picture that shows nothing (default: the config's fixed thresholds; the
    /// health monitor passes its own, which knows the camera's normal edge energy). Allocation-free
    /// unless the picture size changed. `isTracking`: a motion event is under way, so objects count
    /// from `trackedAreaShare` of `min_area` (hysteresis). `interval`: the seconds of media time
    /// this frame stands for (since the previous one analysed), for learning busy regions.
    public func analyze(_ plane: LumaPlane, isKeyframe: Bool = false, blank: BlankPictureTest? = nil,
                        isTracking: Bool = false, interval: Double = 1.0 / 15) -> FrameAnalysis
    {
        if plane.width != sourceWidth || plane.height != sourceHeight {
            resize(toSourceWidth: plane.width, height: plane.height)
        }
        vk_downscale(isa.cValue, plane.base, plane.stride, Int32(plane.width), Int32(plane.height),
                     Int32(factor), current.base, width)
        let picture = measurePicture(isKeyframe: isKeyframe)
        if (blank ?? BlankPictureTest(config: config)).condition(of: picture) != nil {
            // Nothing to see (dark or covered): follow the picture, and keep following it while
            // the view comes back, so uncovering the lens is not motion.
            recovering = true
        } else if recovering, blocks.movedFraction < Self.settledFraction {
            recovering = false
        }
        guard hasBackground, !recovering else {
            relearn()
            return .relearnedFrame(picture)
        }
        let relit = config.relight
            ? light.compensate(blocks, background: background.base, width: width, height: height,
                               maxResidual: maxLightResidual)
            : 0
        let counts = vk_sigma_delta(isa.cValue, current.base, background.base, nextBackground.base, variance.base,
                                    mask.base, Int32(width), Int32(height), parameters)
        swap(&background, &nextBackground)
        if Double(relit) >= Self.lightChangeFraction * Double(blocks.moments.count) { settling = Self.settlingFrames }
        if settling > 0 {
            settling -= 1
            absorbStillBlocks()
        }
        let changedShare = Double(counts.beyond_range) / Double(current.count)
        if changedShare > config.lightSwitchFraction, abs(blocks.meanLuma - blocks.backgroundMeanLuma) > Self.lightLevels {
            relearn()
            return .relearnedFrame(picture)
        }
        let pictureArea = Double(width * height)
        if config.quietPlainDifference {
            countQuietPlainDifference(pictureArea: pictureArea, interval: interval)
        } else {
            vk_cell_counts(isa.cValue, mask.base, regions.allowed.base, UInt8(VK_BEYOND_RANGE), Int32(width),
                           Int32(height), objects.counts.base)
        }
        // Hysteresis: an object already being followed may shrink to half the area (far, or against a
        // background of its own brightness) without the event breaking up.
        let minArea = isTracking ? config.minArea * Self.trackedAreaShare : config.minArea
        dynamics.learn(counts: objects.counts, plain: config.quietPlainDifference ? quietCounts : nil,
                       cellPixels: Self.cell * Self.cell, interval: interval)
        let found = objects.find(minCellCount: minCellCount, minPixels: Int((minArea * pictureArea).rounded(.up)),
                                 weights: dynamics.weights, regions: regions) { object in
            !isTracking && config.relight && isLightChange(in: object)
        }
        if isNewView(found, changedShare: changedShare, plainShare: Double(counts.changed) / Double(current.count)) {
            // A large, still difference spread over the picture: a new view settling, not something moving.
            newViewFrames += 1
            guard newViewFrames >= Self.viewSettleFrames else {
                return FrameAnalysis(changedFraction: 0, isMotion: false, box: nil, relearned: false, relitBlocks: relit,
                                     picture: picture)
            }
            newViewFrames = 0
            relearn()
            var analysis = FrameAnalysis.relearnedFrame(picture)
            analysis.viewMoved = true
            return analysis
        }
        newViewFrames = 0
        guard !found.isEmpty else {
            return FrameAnalysis(changedFraction: 0, isMotion: false, box: nil, relearned: false, relitBlocks: relit,
                                 picture: picture)
        }
        let scale = Self.cell * factor
        let box = PixelBox(x: found.minX * scale, y: found.minY * scale, width: (found.maxX - found.minX + 1) * scale,
                           height: (found.maxY - found.minY + 1) * scale)
        return FrameAnalysis(changedFraction: Double(found.area) / pictureArea, isMotion: true, box: box,
                             zones: found.zones, relearned: false, relitBlocks: relit, picture: picture)
    }

    /// `quiet_plain_difference`: per cell, the kernel's choice (`VK_MOTION`: beyond the range where a
    /// pixel's noise is high, else changed) where the region is quiet, beyond the range where it moves
    /// in place (`DynamicCells.rangeTested`) and everywhere while the view is unsettled or the light
    /// settles; into `objects.counts`.
    private func countQuietPlainDifference(pictureArea: Double, interval: Double) {
        vk_cell_counts(isa.cValue, mask.base, regions.allowed.base, UInt8(VK_MOTION), Int32(width), Int32(height),
                       quietCounts.base)
        vk_cell_counts(isa.cValue, mask.base, regions.allowed.base, UInt8(VK_BEYOND_RANGE), Int32(width),
                       Int32(height), beyondRangeCounts.base)
        let quiet = dynamics.choose(plain: quietCounts, beyondRange: beyondRangeCounts, into: objects.counts)
        let jitters = quiet.withinRange > quiet.beyondRange && Double(quiet.withinRange) > Self.jitterShare * pictureArea
            || Double(quiet.cellsWithinRange) > Self.jitterCellShare * Double(objects.counts.count)
        jitterLeft = jitters ? Self.jitterHoldSeconds : max(0, jitterLeft - interval)
        // While the light settles, the relit background is only near the picture (blended between
        // blocks, a soft shadow edge): the range is the margin that keeps those misfits from counting.
        if jitterLeft > 0 || settling > 0 {
            objects.counts.base.update(from: beyondRangeCounts.base, count: objects.counts.count)
        }
    }

    /// Whether the change over `object`'s cells is the light's (`LightCompensator.explainsObject`):
    /// the frame there is the background it was compared with under a gain alone.
    private func isLightChange(in object: ObjectFinder.Result) -> Bool {
        var sums = LightCompensator.Sums()
        let compared = nextBackground.base  // the background before this frame's step (swapped)
        for y in object.minY * Self.cell..<(object.maxY + 1) * Self.cell {
            let row = y * width
            for x in object.minX * Self.cell..<(object.maxX + 1) * Self.cell {
                sums.add(frame: current[row + x], background: compared[row + x])
            }
        }
        return LightCompensator.explainsObject(sums, maxResidual: maxLightResidual)
    }

    /// Whether this frame shows a new view rather than motion: at least `viewChangeFraction` of the
    /// picture differs from the background beyond the 3x3 range (`changedShare`) and the changed
    /// objects span most of it (`viewSpan` of its width and height: a person near the lens does not),
    /// or that share differs from its own background pixel (`plainShare`) and the picture is the
    /// background shifted (`isShiftedView`); and the picture stands still from frame to
    /// frame (fewer than `stillViewFraction` of the blocks changed brightness).
    private func isNewView(_ found: ObjectFinder.Result, changedShare: Double, plainShare: Double) -> Bool {
        guard blocks.movedFraction < Self.stillViewFraction, !found.isEmpty,
              abs(blocks.meanLuma - blocks.backgroundMeanLuma) <= Self.lightLevels
        else { return false }
        let cellsX = Double(width / Self.cell), cellsY = Double(height / Self.cell)
        let spans = Double(found.maxX - found.minX + 1) >= Self.viewSpan * cellsX
            && Double(found.maxY - found.minY + 1) >= Self.viewSpan * cellsY
        guard !(changedShare >= Self.viewChangeFraction && spans) else { return true }
        // The background drifts towards the new view a level a frame, so the shift is judged once,
        // on the first still frame, and holds while the view stays still and different.
        guard plainShare >= Self.viewChangeFraction else { return false }
        if newViewFrames == 0 { viewShifted = isShiftedView() }
        return viewShifted
    }

    /// Whether the picture is the background shifted (a camera turned sideways changes only the
    /// vertical edges, which may not span the view): some shift of up to `maxViewShift` makes the
    /// background differ from the picture by at most `shiftedViewShare` of the unshifted difference,
    /// on a grid of every 4th pixel each way. Runs only on frames that may show a new view.
    private func isShiftedView() -> Bool {
        let (maxX, maxY) = Self.maxViewShift, step = 4
        guard width > 4 * maxX, height > 4 * maxY else { return false }
        let compared = nextBackground.base  // the background this frame was compared with
        func difference(_ dx: Int, _ dy: Int) -> Int {
            var total = 0
            for y in stride(from: maxY, to: height - maxY, by: step) {
                let row = y * width, shifted = (y + dy) * width + dx
                for x in stride(from: maxX, to: width - maxX, by: step) {
                    total += abs(Int(current[row + x]) - Int(compared[shifted + x]))
                }
            }
            return total
        }
        let unshifted = difference(0, 0)
        var best = unshifted
        for dy in -maxY...maxY {
            for dx in -maxX...maxX where dx != 0 || dy != 0 { best = min(best, difference(dx, dy)) }
        }
        return Double(best) <= Self.shiftedViewShare * Double(unshifted)
    }

    /// Mean luma, edge energy and whether the picture repeats the previous one (from the block
    /// sums, measured against the background for the light compensation too); on a keyframe, how
    /// much it differs from the previous keyframe.
    private func measurePicture(isKeyframe: Bool) -> PictureStatistics {
        blocks.measure(frame: current.base, background: background.base, width: width, height: height, isa: isa)
        let edges = Double(vk_gradient_energy(isa.cValue, current.base, Int32(width), Int32(height)))
            / Double(current.count)
        var keyframeChange: Double?
        if isKeyframe {
            if hasLastKeyframe {
                keyframeChange = Double(vk_sad(isa.cValue, current.base, lastKeyframe.base, current.count))
                    / Double(current.count)
            }
            lastKeyframe.base.update(from: current.base, count: current.count)
            hasLastKeyframe = true
        }
        return PictureStatistics(meanLuma: blocks.meanLuma, edgeEnergy: edges, identicalToPrevious: blocks.isUnchanged,
                                 keyframeChange: keyframeChange)
    }

    /// After a light change, what the relight could not explain (clipped highlights, crushed
    /// shadows, texture the new light reveals) would stay "changed" until the background crawls
    /// there a level a frame. A block that is still from frame to frame holds no moving object:
    /// it takes the picture as its background at once.
    private func absorbStillBlocks() {
        let block = Int(VK_BLOCK)
        for by in 0..<blocks.blocksY {
            for bx in 0..<blocks.blocksX where blocks.stillFrames[by * blocks.blocksX + bx] >= Self.stillBlockFrames {
                let x = bx * block, columns = min(block, width - x)
                for y in by * block..<min((by + 1) * block, height) {
                    (background.base + y * width + x).update(from: current.base + y * width + x, count: columns)
                }
            }
        }
    }

    private func relearn() {
        background.base.update(from: current.base, count: current.count)
        hasBackground = true
    }

    private func resize(toSourceWidth sourceWidth: Int, height sourceHeight: Int) {
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        factor = [8, 4, 2].first { sourceWidth / $0 >= config.analysisWidth && sourceHeight / $0 >= 8 } ?? 1
        width = sourceWidth / factor
        height = sourceHeight / factor
        let count = width * height
        current = ScratchBuffer(count: count, repeating: 0)
        background = ScratchBuffer(count: count, repeating: 0)
        nextBackground = ScratchBuffer(count: count, repeating: 0)
        variance = ScratchBuffer(count: count, repeating: parameters.min_threshold)
        mask = ScratchBuffer(count: count, repeating: 0)
        quietCounts = ScratchBuffer(count: (width / Self.cell) * (height / Self.cell), repeating: 0)
        beyondRangeCounts = ScratchBuffer(count: (width / Self.cell) * (height / Self.cell), repeating: 0)
        jitterLeft = 0
        lastKeyframe = ScratchBuffer(count: count, repeating: 0)
        hasLastKeyframe = false
        regions.draw(settings, factor: factor, width: width, height: height, cell: Self.cell)
        objects.resize(cellsX: width / Self.cell, cellsY: height / Self.cell, zones: settings.zones.count)
        dynamics.resize(cellsX: width / Self.cell, cellsY: height / Self.cell)
        blocks.resize(width: width, height: height)
        light.resize(blocksX: blocks.blocksX, blocksY: blocks.blocksY)
        hasBackground = false
    }

}
