import CVigilKernels

/// Re-baselines the background where the light changed, block by block, so a light step, an IR
/// switch or a cloud over part of the scene is not motion while an object moving at the same time
/// still is.
///
/// For each 16x16 block of averaged pixels it fits `frame = gain * background + offset` by least
/// squares. A block whose change is significant and explained by the fit (small residual, in
/// absolute terms and as a share of the change, and a plausible gain) is *lit*; one whose change
/// the fit cannot explain (something moved in it, or a shadow edge crosses it) is *busy*. A lit
/// block with at least three lit neighbours (two at the picture's edges) is relit with its own fit.
/// A busy block (or an isolated lit one) with as many relit neighbours gets the neighbours' light
/// that fits it best, so an object inside it stands out against the relit background. The relit
/// background is blended between neighbouring relit blocks (`vk_relight_blocks`). An isolated
/// change is never relit: a person filling a block uniformly stays motion. Allocation-free per
/// frame.
struct LightCompensator {
    /// A block's change is significant when it moves the block's mean or its texture by this many levels.
    static let significantLevels = 3.0
    /// Blocks flatter than this standard deviation get a pure offset fit: in them a gain would be
    /// fitted to noise, and a wrong gain flattens the background's texture.
    static let flatDeviation = 10.0
    /// The gains light can plausibly apply to a block between two frames. A fit outside this range
    /// means the block's texture changed (it moved, or vanished), which is not the light.
    static let gainRange = 0.5...4.0
    /// The largest share of a block's change energy the fit may leave unexplained.
    static let maxUnexplained = 0.25
    /// Lit neighbours a block needs before the change counts as the light's: 3 of 8, or as many in
    /// proportion (rounded up) at the picture's edges and corners.
    private func agreeingNeighbours(of block: Int) -> Int {
        let x = block % blocksX, y = block / blocksX
        let columns = min(x + 1, blocksX - 1) - max(x - 1, 0) + 1
        let rows = min(y + 1, blocksY - 1) - max(y - 1, 0) + 1
        return (3 * (columns * rows - 1) + 7) / 8
    }

    private enum BlockState: UInt8 {
        case quiet, lit, busy, relit
    }

    private var blocksX = 0
    private var blocksY = 0
    private var states = ScratchBuffer<UInt8>()
    /// Each block's own fit.
    private var gains = ScratchBuffer<Double>()
    private var offsets = ScratchBuffer<Double>()
    /// The fit each block is relit with, and whether it is.
    private var relitGains = ScratchBuffer<Float>()
    private var relitOffsets = ScratchBuffer<Float>()
    private var relitFlags = ScratchBuffer<UInt8>()

    mutating func resize(blocksX: Int, blocksY: Int) {
        self.blocksX = blocksX
        self.blocksY = blocksY
        let count = blocksX * blocksY
        states = ScratchBuffer(count: count, repeating: 0)
        gains = ScratchBuffer(count: count, repeating: 1)
        offsets = ScratchBuffer(count: count, repeating: 0)
        relitGains = ScratchBuffer(count: count, repeating: 1)
        relitOffsets = ScratchBuffer(count: count, repeating: 0)
        relitFlags = ScratchBuffer(count: count, repeating: 0)
    }


    /// Relights `background` (in place, a packed `width` x `height` plane) where the light changed
    /// between it and the frame whose `blocks` were just measured. `maxResidual` is the mean squared
    /// misfit (levels²) still explained by the light. Returns the number of blocks relit.
    mutating func compensate(_ blocks: BlockStatistics, background: UnsafeMutablePointer<UInt8>, width: Int,
                             height: Int, maxResidual: Double) -> Int
    {
        var anyLit = false
        for block in 0..<states.count {
            let state = classify(blocks.moments[block], block, maxResidual: maxResidual)
            states[block] = state.rawValue
            anyLit = anyLit || state == .lit
        }
        guard anyLit else { return 0 }
        // Lit blocks with agreeing neighbours are the light's: relit with their own fit.
        for block in 0..<states.count where states[block] == BlockState.lit.rawValue {
            if litNeighbours(of: block) >= agreeingNeighbours(of: block) {
                states[block] = BlockState.relit.rawValue
            }
        }
        var relit = 0
        for block in 0..<states.count {
            relitFlags[block] = 0
            switch BlockState(rawValue: states[block]) {
            case .relit:
                setFit(block, gain: gains[block], offset: offsets[block])
                relit += 1
            case .busy, .lit:
                guard let (gain, offset) = neighbourLight(for: block, moments: blocks.moments[block]) else { continue }
                setFit(block, gain: gain, offset: offset)
                relit += 1
            default:
                continue
            }
        }
        if relit > 0 {
            vk_relight_blocks(background, Int32(width), Int32(height), relitGains.base, relitOffsets.base,
                              relitFlags.base)
        }
        return relit
    }

    private func classify(_ m: vk_block_moments, _ block: Int, maxResidual: Double) -> BlockState {
        let n = Double(m.pixels)
        let meanB = Double(m.sum_b) / n, meanF = Double(m.sum_f) / n
        let varB = max(Double(m.sum_bb) / n - meanB * meanB, 0)
        let varF = max(Double(m.sum_ff) / n - meanF * meanF, 0)
        let covariance = Double(m.sum_bf) / n - meanB * meanF
        let deviation = varB.squareRoot()
        let gain = deviation < Self.flatDeviation ? 1 : covariance / varB
        let residual = varF - 2 * gain * covariance + gain * gain * varB
        let changeEnergy = Double(Int64(m.sum_ff) - 2 * Int64(m.sum_bf) + Int64(m.sum_bb)) / n
        gains[block] = gain
        offsets[block] = meanF - gain * meanB
        let significant = abs(meanF - meanB) >= Self.significantLevels
            || abs(gain - 1) * deviation >= Self.significantLevels
        guard significant else { return .quiet }
        // The light explains a change when little is left after the fit, in absolute terms and
        // compared with the change (a view shifted by a pixel leaves much of its change unexplained).
        let explained = residual <= maxResidual && residual <= changeEnergy * Self.maxUnexplained
        return explained && Self.gainRange.contains(gain) ? .lit : .busy
    }

    /// Sums over some pixels of the frame `f` and its background `b` (as `vk_block_moments`, for any
    /// number of pixels).
    struct Sums {
        var pixels = 0, b = 0, f = 0, bb = 0, ff = 0, bf = 0

        mutating func add(frame: UInt8, background: UInt8) {
            let f = Int(frame), b = Int(background)
            pixels += 1
            self.b += b
            self.f += f
            bb += b * b
            ff += f * f
            bf += b * f
        }
    }

    /// Whether the change summed in `m` (an object's pixels and their background) is the light's:
    /// over a textured background, a gain alone explains it, `frame = gain * background` (a strip the
    /// encoder refreshes late while the light dims slowly). What moves in front of the background
    /// blends its own level in, an offset a gain alone does not explain (the faint edge of a light
    /// coat is about `0.65 * background + 35`). Over a flat background a gain is not told from an
    /// offset, so there it never is the light's.
    static func explainsObject(_ m: Sums, maxResidual: Double) -> Bool {
        let n = Double(m.pixels), bb = Double(m.bb), bf = Double(m.bf), ff = Double(m.ff)
        let meanB = Double(m.b) / n
        guard bb > 0, (bb / n - meanB * meanB).squareRoot() >= flatDeviation else { return false }
        let gain = bf / bb
        let residual = (ff - gain * bf) / n
        let changeEnergy = (ff - 2 * bf + bb) / n
        return gainRange.contains(gain) && residual <= maxResidual && residual <= changeEnergy * maxUnexplained
    }

    private func setFit(_ block: Int, gain: Double, offset: Double) {
        relitGains[block] = Float(gain)
        relitOffsets[block] = Float(offset)
        relitFlags[block] = 1
    }

    /// How many of the 8 neighbours are lit (or already found relit).
    private func litNeighbours(of block: Int) -> Int {
        var count = 0
        forEachNeighbour(of: block) { neighbour in
            let state = states[neighbour]
            if state == BlockState.lit.rawValue || state == BlockState.relit.rawValue { count += 1 }
        }
        return count
    }

    /// The light for a block its own fit cannot explain, taken from its relit neighbours (when
    /// enough are relit): of their fits, their mean, and half-way between that mean and no
    /// change (the middle of a soft shadow edge), the one that leaves the least misfit in the
    /// block; nil when no change at all fits better.
    private func neighbourLight(for block: Int, moments m: vk_block_moments) -> (gain: Double, offset: Double)? {
        var count = 0, meanGain = 0.0, meanOffset = 0.0
        var best = (gain: 1.0, offset: 0.0, misfit: Self.misfit(m, gain: 1, offset: 0))
        func consider(_ gain: Double, _ offset: Double) {
            let misfit = Self.misfit(m, gain: gain, offset: offset)
            if misfit < best.misfit { best = (gain, offset, misfit) }
        }
        forEachNeighbour(of: block) { neighbour in
            guard states[neighbour] == BlockState.relit.rawValue else { return }
            count += 1
            meanGain += gains[neighbour]
            meanOffset += offsets[neighbour]
            consider(gains[neighbour], offsets[neighbour])
        }
        guard count >= agreeingNeighbours(of: block) else { return nil }
        meanGain /= Double(count)
        meanOffset /= Double(count)
        consider(meanGain, meanOffset)
        consider((1 + meanGain) / 2, meanOffset / 2)
        return best.gain == 1 && best.offset == 0 ? nil : (best.gain, best.offset)
    }

    /// Mean squared difference between the frame and `gain * background + offset` over a block.
    private static func misfit(_ m: vk_block_moments, gain: Double, offset: Double) -> Double {
        let n = Double(m.pixels)
        let sumF = Double(m.sum_f), sumB = Double(m.sum_b)
        let sumFF = Double(m.sum_ff), sumBB = Double(m.sum_bb), sumBF = Double(m.sum_bf)
        return (sumFF - 2 * gain * sumBF - 2 * offset * sumF + gain * gain * sumBB + 2 * gain * offset * sumB
            + offset * offset * n) / n
    }

    private func forEachNeighbour(of block: Int, _ body: (Int) -> Void) {
        let x = block % blocksX, y = block / blocksX
        for ny in max(y - 1, 0)...min(y + 1, blocksY - 1) {
            for nx in max(x - 1, 0)...min(x + 1, blocksX - 1) where nx != x || ny != y {
                body(ny * blocksX + nx)
            }
        }
    }
}
