/// A borrowed 8-bit luma (brightness) plane: the only picture data the detector needs.
///
/// The memory belongs to whoever produced the plane (a decoder, a test); it must stay valid and
/// unchanged for the duration of the call it is passed to. Nothing is copied.
public struct LumaPlane {
    public let base: UnsafePointer<UInt8>
    /// Bytes from the start of one row to the start of the next (at least `width`).
    public let stride: Int
    public let width: Int
    public let height: Int

    public init(base: UnsafePointer<UInt8>, stride: Int, width: Int, height: Int) {
        precondition(width > 0 && height > 0 && stride >= width, "invalid luma plane geometry")
        self.base = base
        self.stride = stride
        self.width = width
        self.height = height
    }
}

/// An axis-aligned rectangle in source pixels.
public struct PixelBox: Sendable, Equatable, Codable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The smallest box containing both.
    public func union(_ other: PixelBox) -> PixelBox {
        let left = min(x, other.x)
        let top = min(y, other.y)
        let right = max(x + width, other.x + other.width)
        let bottom = max(y + height, other.y + other.height)
        return PixelBox(x: left, y: top, width: right - left, height: bottom - top)
    }

    /// `[x, y, w, h]`, the form used in replay output and alerts.
    public var array: [Int] { [x, y, width, height] }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        self.init(
            x: try container.decode(Int.self), y: try container.decode(Int.self),
            width: try container.decode(Int.self), height: try container.decode(Int.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(contentsOf: array)
    }
}
