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
/// learned the same way (see docs/architecture.md: what it can hide).
///
/// For `quiet_plain_difference` it also keeps, per cell, the share of frames in which it had any
/// plainly changed pixel, averaged over `movingSeconds`: where the region's share is above
/// `movingShare` (swaying leaves change a few pixels of a cell in most frames; a person passing
/// changes it for well under a second), or where the cell's own busyness is above `quietShare` (the
/// trail a figure leaves in the background), only pixels beyond the 3x3 range count
/// (`rangeTested`; see docs/detector-onset.md). Allocation-free per frame; buffers are sized with
/// the picture.
struct DynamicCells {
    /// The averaging time of each cell's changed share, in seconds of media time.
    static let learningSeconds = 8.0
    /// At or below this busyness a cell counts in full...
    static let quietShare: Float = 0.04
    /// ...at or above this one, `1 / weightScale` of it.
    static let busyShare: Float = 0.2
    /// Cell weights are in 1/16ths.
    static let weightScale = 16
    /// The averaging time of each cell's share of frames with any plainly changed pixel, in seconds
    /// of media time...
    static let movingSeconds = 16.0
    /// ...and above this share in the region, something there moves in place (`rangeTested`).
    static let movingShare: Float = 0.05

    /// Per cell: the weight (0-16) of its changed pixels in an object's area (set by `learn`).
    private(set) var weights = ScratchBuffer<UInt8>()
    /// Per cell: true where the region moves in place or the cell itself is busy, so only pixels
    /// beyond the background's 3x3 range count (set by `learn` when given the plain counts).
    private(set) var rangeTested = ScratchBuffer<Bool>()
    /// Per cell: the average share of frames in which it had any plainly counted pixel.
    private var moving = ScratchBuffer<Float>()
    /// Per cell: the 3x3 maximum of `activity` or `moving` (scratch).
    private var region = ScratchBuffer<Float>()
    /// Per cell: the average share of changed pixels.
    private var activity = ScratchBuffer<Float>()
    /// Per cell: the largest activity of the cell and its left and right neighbours.
    private var rowMaximum = ScratchBuffer<Float>()
    /// Cells in regions that move in place (set by `learn` when given the plain counts).
    private(set) var movingCells = 0
    private var cellsX = 0
    private var cellsY = 0

    mutating func resize(cellsX: Int, cellsY: Int) {
        self.cellsX = cellsX
        self.cellsY = cellsY
        weights = ScratchBuffer(count: cellsX * cellsY, repeating: UInt8(Self.weightScale))
        rangeTested = ScratchBuffer(count: cellsX * cellsY, repeating: false)
        moving = ScratchBuffer(count: cellsX * cellsY, repeating: 0)
        region = ScratchBuffer(count: cellsX * cellsY, repeating: 0)
        activity = ScratchBuffer(count: cellsX * cellsY, repeating: 0)
        rowMaximum = ScratchBuffer(count: cellsX * cellsY, repeating: 0)
        movingCells = 0
    }

    /// Learns from one frame's counts per cell (`cellPixels` each): `counts`, the pixels that took
    /// part in objects, and `plain`, those that would have where the region is quiet (the shifts a
    /// jittering view or swaying leaves make count there, so they are learned even while only what
    /// lies beyond the range counts; nil: `rangeTested` is not needed). The frame stands for
    /// `interval` seconds. Updates `weights` and `rangeTested`.
    mutating func learn(counts: ScratchBuffer<UInt8>, plain: ScratchBuffer<UInt8>?, cellPixels: Int, interval: Double) {
        let rate = Float(min(1, max(0, interval) / Self.learningSeconds))
        let perPixel = rate / Float(cellPixels)
        let movingRate = Float(min(1, max(0, interval) / Self.movingSeconds))
        for cell in 0..<activity.count {
            activity[cell] += perPixel * Float(counts[cell]) - rate * activity[cell]
        }
        regionMaximum(of: activity)
        let span = Self.busyShare - Self.quietShare, scale = Float(Self.weightScale)
        for cell in 0..<region.count {
            let damping = min(1, max(0, (region[cell] - Self.quietShare) / span))
            weights[cell] = UInt8((scale - (scale - 1) * damping).rounded())
        }
        guard let plain else { return }
        for cell in 0..<moving.count {
            moving[cell] += movingRate * ((plain[cell] > 0 ? 1 : 0) - moving[cell])
        }
        regionMaximum(of: moving)
        movingCells = 0
        for cell in 0..<region.count {
            let movesInPlace = region[cell] > Self.movingShare
            movingCells += movesInPlace ? 1 : 0
            rangeTested[cell] = movesInPlace || activity[cell] > Self.quietShare
        }
    }

    /// Writes into `counts` each cell's count as it takes part in objects: `beyondRange` where the
    /// region moves in place (`rangeTested`), `plain` elsewhere. Returns, over the cells where
    /// `plain` was taken, the pixels it counts that lie within the range, those beyond it, and the
    /// cells with any pixel within the range.
    func choose(plain: ScratchBuffer<UInt8>, beyondRange: ScratchBuffer<UInt8>,
                into counts: ScratchBuffer<UInt8>) -> (withinRange: Int, beyondRange: Int, cellsWithinRange: Int)
    {
        var within = 0, beyond = 0, cells = 0
        for cell in 0..<counts.count {
            if rangeTested[cell] {
                counts[cell] = beyondRange[cell]
            } else {
                counts[cell] = plain[cell]
                within += Int(plain[cell]) - Int(beyondRange[cell])
                beyond += Int(beyondRange[cell])
                cells += plain[cell] > beyondRange[cell] ? 1 : 0
            }
        }
        return (within, beyond, cells)
    }

    /// The largest value of each cell and its 8 neighbours into `region`, separably: across each
    /// row into `rowMaximum`, then down each column.
    private func regionMaximum(of values: ScratchBuffer<Float>) {
        for y in 0..<cellsY {
            let row = y * cellsX
            for x in 0..<cellsX {
                rowMaximum[row + x] = max(values[row + max(x - 1, 0)], values[row + x],
                                          values[row + min(x + 1, cellsX - 1)])
            }
        }
        for y in 0..<cellsY {
            let above = max(y - 1, 0) * cellsX, row = y * cellsX, below = min(y + 1, cellsY - 1) * cellsX
            for x in 0..<cellsX {
                region[row + x] = max(rowMaximum[above + x], rowMaximum[row + x], rowMaximum[below + x])
            }
        }
    }
}
