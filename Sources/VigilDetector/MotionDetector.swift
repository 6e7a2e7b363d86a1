import CVigilKernels

/// What the detector saw in one frame.
public struct FrameAnalysis: Sendable, Equatable {
    /// Fraction of the picture that differs from the background (0-1), after the light-switch check.
    public var changedFraction: Double
    /// The frame counts as motion (enough of the picture changed).
    public var isMotion: Bool
    /// Union of changed pixels in source pixels, set on motion frames.
    public var box: PixelBox?
    /// The background was (re)learned from this frame: first frame, new size, or a light switch.
    public var relearned: Bool

    public init(changedFraction: Double, isMotion: Bool, box: PixelBox?, relearned: Bool) {
        self.changedFraction = changedFraction
        self.isMotion = isMotion
        self.box = box
        self.relearned = relearned
    }

    static let relearnedFrame = FrameAnalysis(changedFraction: 0, isMotion: false, box: nil, relearned: true)
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

/// Frame-difference motion detection on luma planes against a sigma-delta background.
///
/// Each frame is box-averaged down to about `analysisWidth` pixels wide, compared with a per-pixel
/// background whose threshold follows the pixel's own noise, and the background moves one level
/// towards the frame. Buffers are allocated when the picture size changes, never per frame.
/// One instance serves one camera on one thread.
public final class MotionDetector {
    public let config: DetectorConfig
    public let isa: KernelISA

    private var sourceWidth = 0
    private var sourceHeight = 0
    private var factor = 1
    private var width = 0
    private var height = 0
    private var current = UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0)
    private var background = UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0)
    private var variance = UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0)
    private var mask = UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0)
    private var hasBackground = false
    private let parameters: vk_sigma_delta_params

    public init(config: DetectorConfig = DetectorConfig(), isa: KernelISA = .best) {
        precondition(config.problem == nil, config.problem ?? "")
        self.config = config
        self.isa = isa
        let threshold = UInt8(config.pixelThreshold)
        parameters = vk_sigma_delta_params(
            min_threshold: threshold, min_variance: 2, max_variance: 200,
            noise_shift: UInt8(config.noiseMultiplier.trailingZeroBitCount))
    }

    deinit {
        release()
    }

    /// The size of the averaged picture the detector works on.
    public var analysisSize: (width: Int, height: Int, factor: Int) { (width, height, factor) }

    /// Forgets the background; the next frame is learned, not compared (after a gap in the stream).
    public func reset() {
        hasBackground = false
    }

    /// Compares one frame with the background and updates the background. Allocation-free
    /// unless the picture size changed.
    public func analyze(_ plane: LumaPlane) -> FrameAnalysis {
        if plane.width != sourceWidth || plane.height != sourceHeight {
            resize(toSourceWidth: plane.width, height: plane.height)
        }
        vk_downscale(isa.cValue, plane.base, plane.stride, Int32(plane.width), Int32(plane.height),
                     Int32(factor), current.baseAddress, width)
        guard hasBackground else {
            relearn()
            return .relearnedFrame
        }
        let changed = vk_sigma_delta(isa.cValue, current.baseAddress, background.baseAddress, variance.baseAddress,
                                     mask.baseAddress, current.count, parameters)
        let fraction = Double(changed) / Double(current.count)
        if fraction > config.lightSwitchFraction {
            relearn()
            return .relearnedFrame
        }
        let isMotion = changed > 0 && fraction >= config.minArea
        return FrameAnalysis(changedFraction: fraction, isMotion: isMotion, box: isMotion ? changedBox() : nil,
                             relearned: false)
    }

    private func relearn() {
        background.baseAddress!.update(from: current.baseAddress!, count: current.count)
        hasBackground = true
    }

    private func resize(toSourceWidth sourceWidth: Int, height sourceHeight: Int) {
        release()
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        factor = [8, 4, 2].first { sourceWidth / $0 >= config.analysisWidth && sourceHeight / $0 >= 8 } ?? 1
        width = sourceWidth / factor
        height = sourceHeight / factor
        let count = width * height
        current = .allocate(capacity: count)
        background = .allocate(capacity: count)
        variance = .allocate(capacity: count)
        mask = .allocate(capacity: count)
        current.initialize(repeating: 0)
        background.initialize(repeating: 0)
        variance.initialize(repeating: parameters.min_threshold)
        mask.initialize(repeating: 0)
        hasBackground = false
    }

    private func release() {
        for buffer in [current, background, variance, mask] { buffer.deallocate() }
    }

    /// Bounding box of the changed pixels, scaled to source pixels.
    private func changedBox() -> PixelBox? {
        var top = Int.max, bottom = -1, left = Int.max, right = -1
        let base = mask.baseAddress!
        for y in 0..<height {
            let row = base + y * width
            guard let first = firstChanged(row, from: 0, to: width) else { continue }
            top = min(top, y)
            bottom = y
            left = min(left, first)
            right = max(right, lastChanged(row, from: max(first, right), to: width))
        }
        guard bottom >= 0 else { return nil }
        return PixelBox(x: left * factor, y: top * factor, width: (right - left + 1) * factor,
                        height: (bottom - top + 1) * factor)
    }

    private func firstChanged(_ row: UnsafeMutablePointer<UInt8>, from start: Int, to end: Int) -> Int? {
        var x = start
        while x + 8 <= end {
            if UnsafeRawPointer(row + x).loadUnaligned(as: UInt64.self) != 0 { break }
            x += 8
        }
        while x < end {
            if row[x] != 0 { return x }
            x += 1
        }
        return nil
    }

    private func lastChanged(_ row: UnsafeMutablePointer<UInt8>, from start: Int, to end: Int) -> Int {
        var x = end - 1
        while x >= start {
            if row[x] != 0 { return x }
            x -= 1
        }
        return start
    }
}
