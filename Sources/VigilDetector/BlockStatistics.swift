import CVigilKernels

/// Per-block sums of the frame and of the background (`vk_block_moments`), measured once per frame
/// and shared by the light compensation and the camera-health measures. Also tells whether the
/// frame is unchanged since the previous one: every block's sum and sum of squares the same (for
/// live video, where every frame carries some noise, that means a repeated picture).
struct BlockStatistics {
    private(set) var blocksX = 0
    private(set) var blocksY = 0
    private(set) var moments = ScratchBuffer<vk_block_moments>()
    /// The previous frame's sum and sum of squares, per block.
    private var previousSums = ScratchBuffer<UInt64>()
    private var hasPrevious = false
    /// Mean luma of the frame last measured.
    private(set) var meanLuma = 0.0
    /// The frame last measured repeats the one before it.
    private(set) var isUnchanged = false

    mutating func resize(width: Int, height: Int) {
        blocksX = (width + Int(VK_BLOCK) - 1) / Int(VK_BLOCK)
        blocksY = (height + Int(VK_BLOCK) - 1) / Int(VK_BLOCK)
        moments = ScratchBuffer(count: blocksX * blocksY, repeating: vk_block_moments())
        previousSums = ScratchBuffer(count: blocksX * blocksY, repeating: 0)
        forgetPrevious()
    }

    /// The next frame is not compared with the one before (after a gap in the stream).
    mutating func forgetPrevious() {
        hasPrevious = false
        isUnchanged = false
    }

    mutating func measure(frame: UnsafePointer<UInt8>, background: UnsafePointer<UInt8>, width: Int, height: Int,
                          isa: KernelISA)
    {
        vk_block_moments_of(isa.cValue, frame, background, Int32(width), Int32(height), moments.base)
        var unchanged = hasPrevious
        var total = 0
        for block in 0..<moments.count {
            let m = moments[block]
            total += Int(m.sum_f)
            let sums = UInt64(m.sum_f) << 32 | UInt64(m.sum_ff)
            unchanged = unchanged && previousSums[block] == sums
            previousSums[block] = sums
        }
        meanLuma = Double(total) / Double(width * height)
        isUnchanged = unchanged
        hasPrevious = true
    }
}
