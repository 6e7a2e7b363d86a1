/// Learns, per region, how much the scene moves in place there (leaves, branches, flags, water,
/// flickering signs), so that small objects there need to be larger to count as motion.
///
/// Per 4x4 cell it keeps the share of its pixels that were changed, averaged over the last
/// `learningSeconds` of media time (an exponential mean weighted by the time each frame stands
/// for). A region's *busyness* is the largest average of the cell and its 8 neighbours (a tree
/// moves in different leaves from one gust to the next, but in the same region). Each cell then
/// weighs its changed pixels into an object's area by 1 at or below `quietShare` busyness, down
/// to `1 / 16` at `busyShare` and above: a person (hundreds of pixels) still counts in a swaying
/// hedge, a few leaves (tens) no longer do. Something that stays in one place long enough is
/// learned the same way (see docs/architecture.md: what it can hide). Allocation-free per frame; buffers
/// are sized with the picture.
struct DynamicCells {
    /// The averaging time of each cell's changed share, in seconds of media time.
    static let learningSeconds = 8.0
    /// At or below this busyness a cell counts in full...
    static let quietShare: Float = 0.04
    /// ...at or above this one, `1 / weightScale` of it.
    static let busyShare: Float = 0.2
    /// Cell weights are in 1/16ths.
    static let weightScale = 16

    /// Per cell: the weight (0-16) of its changed pixels in an object's area (set by `learn`).
    private(set) var weights = ScratchBuffer<UInt8>()
    /// Per cell: the average share of changed pixels.
    private var activity = ScratchBuffer<Float>()
    /// Per cell: the largest activity of the cell and its left and right neighbours.
    private var rowMaximum = ScratchBuffer<Float>()
    private var cellsX = 0
    private var cellsY = 0

    mutating func resize(cellsX: Int, cellsY: Int) {
        self.cellsX = cellsX
        self.cellsY = cellsY
        weights = ScratchBuffer(count: cellsX * cellsY, repeating: UInt8(Self.weightScale))
        activity = ScratchBuffer(count: cellsX * cellsY, repeating: 0)
        rowMaximum = ScratchBuffer(count: cellsX * cellsY, repeating: 0)
    }

    /// Learns from one frame's changed-pixel counts per cell (`cellPixels` each), the frame
    /// standing for `interval` seconds, and updates `weights`.
    mutating func learn(counts: ScratchBuffer<UInt8>, cellPixels: Int, interval: Double) {
        let rate = Float(min(1, max(0, interval) / Self.learningSeconds))
        let perPixel = rate / Float(cellPixels)
        for cell in 0..<activity.count {
            activity[cell] += perPixel * Float(counts[cell]) - rate * activity[cell]
        }
        // The 3x3 maximum, separably: across each row into `rowMaximum`, then down each column.
        for y in 0..<cellsY {
            let row = y * cellsX
            for x in 0..<cellsX {
                rowMaximum[row + x] = max(activity[row + max(x - 1, 0)], activity[row + x],
                                          activity[row + min(x + 1, cellsX - 1)])
            }
        }
        let span = Self.busyShare - Self.quietShare, scale = Float(Self.weightScale)
        for y in 0..<cellsY {
            let above = max(y - 1, 0) * cellsX, row = y * cellsX, below = min(y + 1, cellsY - 1) * cellsX
            for x in 0..<cellsX {
                let busy = max(rowMaximum[above + x], rowMaximum[row + x], rowMaximum[below + x])
                let damping = min(1, max(0, (busy - Self.quietShare) / span))
                weights[row + x] = UInt8((scale - (scale - 1) * damping).rounded())
            }
        }
    }
}
