/// The camera's masks and zones drawn onto the detector's grids, once per picture size.
///
/// `allowed` has one byte per averaged pixel: 255 where motion may count, 0 under an exclude or
/// privacy mask (and on the picture's outer ring when shake is tolerated). `zoneBits` has one `ZoneSet` per 4x4 cell: the zones whose polygon holds the cell's centre.
struct RegionMap {
    private(set) var allowed = ScratchBuffer<UInt8>()
    private(set) var zoneBits = ScratchBuffer<UInt32>()
    /// Each zone's minimum area in changed averaged pixels, by zone index.
    private(set) var zoneMinPixels = ScratchBuffer<Int>()

    var hasZones: Bool { zoneMinPixels.count > 0 }

    /// Redraws the regions for a picture averaged by `factor` to `width` x `height` pixels.
    mutating func draw(_ settings: CameraDetectionSettings, factor: Int, width: Int, height: Int, cell: Int) {
        allowed = ScratchBuffer(count: width * height, repeating: 255)
        if settings.detector.shakeTolerance {
            // A jittering view brings new picture in at its edges, which no range can tolerate.
            for x in 0..<width {
                allowed[x] = 0
                allowed[(height - 1) * width + x] = 0
            }
            for y in 0..<height {
                allowed[y * width] = 0
                allowed[y * width + width - 1] = 0
            }
        }
        let scale = Double(factor)
        let masks = settings.masks + settings.privacyMasks
        if !masks.isEmpty {
            for y in 0..<height {
                for x in 0..<width {
                    let sourceX = (Double(x) + 0.5) * scale, sourceY = (Double(y) + 0.5) * scale
                    if masks.contains(where: { $0.contains(x: sourceX, y: sourceY) }) {
                        allowed[y * width + x] = 0
                    }
                }
            }
        }
        let cellsX = width / cell, cellsY = height / cell
        zoneBits = ScratchBuffer(count: cellsX * cellsY, repeating: 0)
        for (index, zone) in settings.zones.enumerated() {
            for y in 0..<cellsY {
                for x in 0..<cellsX {
                    let sourceX = (Double(x) + 0.5) * Double(cell) * scale
                    let sourceY = (Double(y) + 0.5) * Double(cell) * scale
                    if zone.polygon.contains(x: sourceX, y: sourceY) {
                        zoneBits[y * cellsX + x] |= ZoneSet(index: index).rawValue
                    }
                }
            }
        }
        let pictureArea = Double(width * height)
        zoneMinPixels = ScratchBuffer(count: settings.zones.count, repeating: 0)
        for (index, zone) in settings.zones.enumerated() {
            zoneMinPixels[index] = Int((zone.minArea ?? settings.detector.minArea) * pictureArea)
        }
    }

}
