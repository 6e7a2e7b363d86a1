import CFFmpeg
import VigilDetector

/// A copy of one frame's luma plane, kept for a snapshot after the frame's buffer is gone.
///
/// A camera worker keeps one per camera and copies each new peak frame of a motion event into it;
/// the buffer is reallocated only when the picture size changes, so copying never allocates otherwise.
/// Not thread-safe: used on the camera's thread.
public struct LumaSnapshot {
    /// Size of the kept picture in pixels; 0 until a frame was copied.
    public private(set) var width = 0
    public private(set) var height = 0
    /// Rows of `width` bytes, without padding.
    private var pixels: [UInt8] = []

    public init() {}

    /// Whether a frame was copied.
    public var isEmpty: Bool { width == 0 }

    /// Replaces the kept picture with `frame`'s luma plane.
    public mutating func copy(from frame: DecodedFrame) {
        if frame.width * frame.height != pixels.count {
            pixels = [UInt8](repeating: 0, count: frame.width * frame.height)
        }
        width = frame.width
        height = frame.height
        pixels.withUnsafeMutableBufferPointer { buffer in
            guard let target = buffer.baseAddress else { return }
            for row in 0..<frame.height {
                (target + row * frame.width).update(from: frame.luma + row * frame.lumaStride, count: frame.width)
            }
        }
    }

    /// Encodes the kept picture as a JPEG through libavcodec's MJPEG encoder, with `box` outlined
    /// (2 px, white outside and black inside, clipped to the picture) and `privacyMasks` burned black
    /// over everything, outline included. A mask is burned in whole 16x16 blocks (the JPEG's coding
    /// units), so no trace of what it covers survives compression at its edges. `qscale` is libav's
    /// quantiser scale, 2 (best) to 31 (smallest). Throws `.invalidData` when no frame was kept,
    /// `.other` when libavcodec fails (out of memory).
    public func jpeg(box: PixelBox?, privacyMasks: [Polygon] = [], qscale: Int = 3) throws(MediaError) -> [UInt8] {
        guard !isEmpty else { throw MediaError(code: .invalidData, reason: "no picture was kept for the snapshot") }
        let burn = privacyMasks.isEmpty ? [] : Self.burnMap(privacyMasks, width: width, height: height)
        var errorText = [CChar](repeating: 0, count: 256)
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        func encode(outline: UnsafePointer<vg_box>?) -> vg_status {
            pixels.withUnsafeBufferPointer { luma in
                burn.withUnsafeBufferPointer { burn in
                    vg_jpeg_encode_luma(luma.baseAddress, Int32(width), Int32(width), Int32(height), Int32(qscale),
                                        outline, burn.isEmpty ? nil : burn.baseAddress, &output, &size, &errorText,
                                        errorText.count)
                }
            }
        }
        let status: vg_status
        if let box {
            var outline = vg_box(x: Int32(box.x), y: Int32(box.y), width: Int32(box.width), height: Int32(box.height))
            status = encode(outline: &outline)
        } else {
            status = encode(outline: nil)
        }
        guard status == VG_OK, let output else {
            throw MediaError(code: MediaError.Code(status), reason: String(cText: errorText))
        }
        defer { vg_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }

    /// One byte per pixel, 1 where a privacy mask is burned: every 16x16 block any mask touches.
    static func burnMap(_ masks: [Polygon], width: Int, height: Int) -> [UInt8] {
        var inside = [UInt8](repeating: 0, count: width * height)
        for mask in masks { mask.fill(&inside, width: width, height: height) }
        var burn = [UInt8](repeating: 0, count: width * height)
        let block = 16
        for top in stride(from: 0, to: height, by: block) {
            for left in stride(from: 0, to: width, by: block) {
                let rows = top..<min(top + block, height), columns = left..<min(left + block, width)
                guard rows.contains(where: { y in columns.contains { inside[y * width + $0] != 0 } }) else { continue }
                for y in rows {
                    for x in columns { burn[y * width + x] = 1 }
                }
            }
        }
        return burn
    }
}
