import CVigilKernels

/// Per-block sums of the frame and of the background (`vk_block_moments`), measured once per frame
/// and shared by the light compensation and the camera-health measures. Also compares the frame
/// with the previous one: unchanged when every block's sum and sum of squares is the same (for live
/// video, where every frame carries some noise, that means a repeated picture), and which share of
/// the blocks changed their mean brightness noticeably (the whole view moving or changing).
struct BlockStatistics {
    private(set) var blocksX = 0
    private(set) var blocksY = 0
    private(set) var moments = ScratchBuffer<vk_block_moments>()
    /// The previous frame's sum and sum of squares, per block.
    private var previousSums = ScratchBuffer<UInt64>()
    private var hasPrevious = false
    /// Mean luma of the frame last measured, and of the background it was measured against.
    private(set) var meanLuma = 0.0
    private(set) var backgroundMeanLuma = 0.0
    /// The frame last measured repeats the one before it.
    private(set) var isUnchanged = false
    /// Share of the blocks whose mean moved by `movedLevels` or more since the previous frame (0-1).
    private(set) var movedFraction = 0.0
    /// For each block, how many frames in a row its mean has not moved (up to 255).
    private(set) var stillFrames = ScratchBuffer<UInt8>()
    static let movedLevels: UInt64 = 2

    mutating func resize(width: Int, height: Int) {
        blocksX = (width + Int(VK_BLOCK) - 1) / Int(VK_BLOCK)
        blocksY = (height + Int(VK_BLOCK) - 1) / Int(VK_BLOCK)
        moments = ScratchBuffer(count: blocksX * blocksY, repeating: vk_block_moments())
        previousSums = ScratchBuffer(count: blocksX * blocksY, repeating: 0)
        stillFrames = ScratchBuffer(count: blocksX * blocksY, repeating: 0)
        forgetPrevious()
    }

    /// The next frame is not compared with the one before (after a gap in the stream).
    mutating func forgetPrevious() {
        hasPrevious = false
        isUnchanged = false
        movedFraction = 0
        stillFrames.fill(with: 0)
    }

    mutating func measure(frame: UnsafePointer<UInt8>, background: UnsafePointer<UInt8>, width: Int, height: Int,
                          isa: KernelISA)
    {
        vk_block_moments_of(isa.cValue, frame, background, Int32(width), Int32(height), moments.base)
        var unchanged = hasPrevious
        var total = 0, backgroundTotal = 0, moved = 0
        for block in 0..<moments.count {
            let m = moments[block]
            total += Int(m.sum_f)
            backgroundTotal += Int(m.sum_b)
            let sums = UInt64(m.sum_f) << 32 | UInt64(m.sum_ff)
            let previousSum = previousSums[block] >> 32, sum = UInt64(m.sum_f)
            if max(sum, previousSum) - min(sum, previousSum) >= Self.movedLevels * UInt64(m.pixels) {
                moved += 1
                stillFrames[block] = 0
            } else if hasPrevious {
                stillFrames[block] = stillFrames[block] &+ (stillFrames[block] < 255 ? 1 : 0)
            }
            unchanged = unchanged && previousSums[block] == sums
            previousSums[block] = sums
        }
        meanLuma = Double(total) / Double(width * height)
        backgroundMeanLuma = Double(backgroundTotal) / Double(width * height)
        isUnchanged = unchanged
        movedFraction = hasPrevious ? Double(moved) / Double(moments.count) : 1
        hasPrevious = true
    }
}
