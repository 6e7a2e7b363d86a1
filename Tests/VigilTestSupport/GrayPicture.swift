import Foundation
import VigilTesting

/// A picture decoded to 8-bit gray by the system's ffmpeg, to check what Vigil wrote (snapshots).
public struct GrayPicture {
    public let width: Int
    public let height: Int
    public let pixels: [UInt8]

    /// The codec, width and height ffprobe reports for `path`, e.g. `mjpeg,640,360`.
    public static func probe(_ path: String) throws -> String {
        let output = try runProcess("/usr/bin/ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width,height",
                                                         "-of", "csv=p=0", path])
        return output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Decodes the image at `path`.
    public init(decoding path: String) throws {
        let size = try Self.probe(path).split(separator: ",").dropFirst().compactMap { Int($0) }
        guard size.count == 2 else { throw SupportError("ffprobe cannot read \(path)") }
        let output = try runProcess("/usr/bin/ffmpeg", ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        guard output.status == 0, output.stdout.count == size[0] * size[1] else {
            throw SupportError("ffmpeg cannot decode \(path): \(output.stderrText)")
        }
        width = size[0]
        height = size[1]
        pixels = Array(output.stdout)
    }

    /// The gray level at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> UInt8 { pixels[y * width + x] }

    /// Whether a box outline as Vigil draws it (white outer pixel, black inner pixel) shows along each
    /// edge of the box `(x, y, width, height)` that lies inside the picture; false when none does.
    /// Averages along each edge, so JPEG ringing does not matter.
    public func showsOutline(x: Int, y: Int, width boxWidth: Int, height boxHeight: Int) -> Bool {
        let right = x + boxWidth - 1, bottom = y + boxHeight - 1
        // Along each edge, the part inside the picture, away from the corners.
        let columns = Array(max(x, 0) + 4..<max(min(right, width - 1) - 3, max(x, 0) + 4))
        let rows = Array(max(y, 0) + 4..<max(min(bottom, height - 1) - 3, max(y, 0) + 4))
        func mean(_ points: [(Int, Int)]) -> Double {
            Double(points.reduce(0) { $0 + Int(self[$1.0, $1.1]) }) / Double(points.count)
        }
        // Each edge inside the picture: its outer line and the line just inside it.
        let edges: [(outer: [(Int, Int)], inner: [(Int, Int)])] = [
            y >= 0 ? (columns.map { ($0, y) }, columns.map { ($0, y + 1) }) : nil,
            bottom < height ? (columns.map { ($0, bottom) }, columns.map { ($0, bottom - 1) }) : nil,
            x >= 0 ? (rows.map { (x, $0) }, rows.map { (x + 1, $0) }) : nil,
            right < width ? (rows.map { (right, $0) }, rows.map { (right - 1, $0) }) : nil,
        ].compactMap { $0 }.filter { !$0.outer.isEmpty }
        return !edges.isEmpty && edges.allSatisfy { mean($0.outer) > 200 && mean($0.inner) < 60 }
    }
}
