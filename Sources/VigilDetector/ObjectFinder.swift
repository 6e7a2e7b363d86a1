/// Groups changed cells into objects and keeps those big enough to be motion.
///
/// Input: per 4x4 cell, the number of changed pixels outside the masks. A cell is *active* when
/// that count reaches `minCellCount`; touching active cells (8-neighbourhood) form one object, whose
/// area is the sum of its cells' counts. Each cell's count is weighed by how busy its region is
/// (`DynamicCells`, 1/16 to 16/16) before it is compared: without zones an object counts when its
/// weighted area reaches `minPixels`; with zones it counts for each zone where its weighted area
/// inside the zone reaches that zone's minimum. Allocation-free per frame.
struct ObjectFinder {
    /// What one frame's counted objects add up to, in cells and averaged pixels.
    struct Result {
        /// Changed averaged pixels in counted objects.
        var area = 0
        /// The same pixels weighed by how busy their cells' regions are (`DynamicCells`), in 1/16ths.
        var weightedArea = 0
        /// Inclusive cell bounds of the counted objects, when there are any.
        var minX = Int.max, minY = Int.max, maxX = -1, maxY = -1
        var zones = ZoneSet()

        var isEmpty: Bool { maxX < 0 }
    }

    private(set) var cellsX = 0
    private(set) var cellsY = 0
    private(set) var counts = ScratchBuffer<UInt8>()
    /// `visitStamp` of the frame in which a cell was last visited (so nothing is cleared per frame).
    private var visited = ScratchBuffer<UInt32>()
    private var visitStamp: UInt32 = 0
    private var stack = ScratchBuffer<Int32>()
    private var zoneAreas = ScratchBuffer<Int>()

    mutating func resize(cellsX: Int, cellsY: Int, zones: Int) {
        self.cellsX = cellsX
        self.cellsY = cellsY
        counts = ScratchBuffer(count: cellsX * cellsY, repeating: 0)
        visited = ScratchBuffer(count: cellsX * cellsY, repeating: 0)
        stack = ScratchBuffer(count: cellsX * cellsY, repeating: 0)
        zoneAreas = ScratchBuffer(count: zones, repeating: 0)
        visitStamp = 0
    }


    /// Finds this frame's objects in `counts` (filled by the caller). An object big enough for which
    /// `isLight` says its change is the light's does not count.
    mutating func find(minCellCount: UInt8, minPixels: Int, weights: ScratchBuffer<UInt8>, regions: RegionMap,
                       isLight: (Result) -> Bool) -> Result {
        visitStamp &+= 1
        if visitStamp == 0 {
            visited.fill(with: 0)
            visitStamp = 1
        }
        var result = Result()
        for cell in 0..<counts.count where counts[cell] >= minCellCount && visited[cell] != visitStamp {
            var object = collect(from: cell, minCellCount: minCellCount, weights: weights, regions: regions)
            if regions.hasZones {
                object.zones = zonesReached(regions)
                if object.zones.isEmpty { continue }
            } else if object.weightedArea < minPixels * DynamicCells.weightScale {
                continue
            }
            if isLight(object) { continue }
            result.area += object.area
            result.minX = min(result.minX, object.minX)
            result.minY = min(result.minY, object.minY)
            result.maxX = max(result.maxX, object.maxX)
            result.maxY = max(result.maxY, object.maxY)
            result.zones.formUnion(object.zones)
        }
        return result
    }

    /// Flood-fills one object from `seed`, adding its area inside each zone to `zoneAreas`.
    private mutating func collect(from seed: Int, minCellCount: UInt8, weights: ScratchBuffer<UInt8>,
                                  regions: RegionMap) -> Result {
        var object = Result()
        var top = 0
        stack[0] = Int32(seed)
        visited[seed] = visitStamp
        while top >= 0 {
            let cell = Int(stack[top])
            top -= 1
            let x = cell % cellsX, y = cell / cellsX
            let area = Int(counts[cell])
            object.area += area
            object.weightedArea += area * Int(weights[cell])
            object.minX = min(object.minX, x)
            object.maxX = max(object.maxX, x)
            object.minY = min(object.minY, y)
            object.maxY = max(object.maxY, y)
            var bits = regions.zoneBits[cell]
            while bits != 0 {
                zoneAreas[bits.trailingZeroBitCount] += area * Int(weights[cell])
                bits &= bits - 1
            }
            for ny in max(y - 1, 0)...min(y + 1, cellsY - 1) {
                for nx in max(x - 1, 0)...min(x + 1, cellsX - 1) {
                    let neighbour = ny * cellsX + nx
                    guard counts[neighbour] >= minCellCount, visited[neighbour] != visitStamp else { continue }
                    visited[neighbour] = visitStamp
                    top += 1
                    stack[top] = Int32(neighbour)
                }
            }
        }
        return object
    }

    /// The zones where the object just collected is big enough; clears `zoneAreas` for the next.
    private func zonesReached(_ regions: RegionMap) -> ZoneSet {
        var zones = ZoneSet()
        for zone in 0..<zoneAreas.count {
            if zoneAreas[zone] > 0, zoneAreas[zone] >= regions.zoneMinPixels[zone] * DynamicCells.weightScale {
                zones.insert(ZoneSet(index: zone))
            }
            zoneAreas[zone] = 0
        }
        return zones
    }
}
