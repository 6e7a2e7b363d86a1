import Foundation
import Testing
import VigilDetector
import VigilIngest
import VigilTestSupport
import VigilTesting

@Suite("snapshots through libavcodec's MJPEG encoder")
struct SnapshotTests {
    /// The first frame of the video at `path`, kept as a snapshot.
    static func firstFrame(of path: String) throws -> LumaSnapshot {
        let source = try MediaSource(url: path)
        var snapshot = LumaSnapshot()
        snapshot.copy(from: try source.nextFrame())
        return snapshot
    }

    @Test("a kept frame encodes as a JPEG of its size with the box outlined, clipped at the picture's edge")
    func encodesWithOutline() throws {
        let snapshot = try Self.firstFrame(of: Fixtures.path("one_crossing.mp4"))
        let files = try TemporaryDirectory()
        for (name, box) in [("inside", PixelBox(x: 100, y: 60, width: 200, height: 150)),
                            ("clipped", PixelBox(x: -20, y: 300, width: 100, height: 200))] {
            let jpeg = try snapshot.jpeg(box: box)
            #expect(jpeg.starts(with: [0xFF, 0xD8]))
            let path = files.url.appendingPathComponent("\(name).jpg").path
            try Data(jpeg).write(to: URL(fileURLWithPath: path))
            #expect(try GrayPicture.probe(path) == "mjpeg,640,360")
            let picture = try GrayPicture(decoding: path)
            #expect(picture.showsOutline(x: box.x, y: box.y, width: box.width, height: box.height), "\(name)")
        }
    }

    @Test("privacy masks are burned black over the picture and the box outline, in whole 16x16 blocks")
    func privacyMasksBurned() throws {
        // Frame 75 of one_crossing: the walker is in the middle of the street.
        let source = try MediaSource(url: Fixtures.path("one_crossing.mp4"))
        var snapshot = LumaSnapshot()
        for _ in 0...75 { snapshot.copy(from: try source.nextFrame()) }
        let mask = Polygon([[203, 151], [461, 151], [461, 269], [203, 269]])
        // The box's left edge runs through the mask: burned there, white above it.
        let box = PixelBox(x: 250, y: 100, width: 150, height: 250)
        let files = try TemporaryDirectory()
        func decoded(_ jpeg: [UInt8], _ name: String) throws -> GrayPicture {
            let path = files.url.appendingPathComponent(name).path
            try Data(jpeg).write(to: URL(fileURLWithPath: path))
            return try GrayPicture(decoding: path)
        }
        let masked = try decoded(try snapshot.jpeg(box: box, privacyMasks: [mask]), "masked.jpg")
        let plain = try decoded(try snapshot.jpeg(box: box), "plain.jpg")
        var inside: [(Int, Int)] = []
        for y in 0..<masked.height {
            for x in 0..<masked.width where mask.contains(x: Double(x) + 0.5, y: Double(y) + 0.5) { inside.append((x, y)) }
        }
        #expect(inside.count > 25_000)
        // Without the mask the region shows the street and the walker; with it, nothing but black.
        #expect(inside.contains { plain[$0.0, $0.1] > 60 })
        let brightest = inside.map { masked[$0.0, $0.1] }.max() ?? 255
        #expect(brightest <= 2, "a pixel inside the privacy mask decodes to \(brightest)")
        #expect(plain[250, 200] > 200, "without the mask the outline crosses the masked region")
        // The rest of the picture, outline included, is untouched.
        #expect(masked[250, 120] > 200, "the box's left edge above the mask's blocks stays white")
        let outside = (0..<masked.width).map { masked[$0, 330] }
        #expect(outside.reduce(0) { $0 + Int($1) } / outside.count > 40)
    }

    @Test("encoding without a kept frame fails with a clear error")
    func emptyFails() {
        #expect(throws: MediaError.self) { try LumaSnapshot().jpeg(box: nil) }
    }

    @Test("a 1920x1080 frame and then a 640x360 one each encode at their own size, outlined (`vigil bench` times them)")
    func encodesEachSize() throws {
        let files = try TemporaryDirectory()
        let large = files.url.appendingPathComponent("large.mkv").path
        let scaled = try runProcess("/usr/bin/ffmpeg", ["-v", "error", "-i", Fixtures.path("one_crossing.mp4"),
                                                        "-frames:v", "1", "-vf", "scale=1920:1080", "-c:v", "mpeg4",
                                                        large])
        try #require(scaled.status == 0, "\(scaled.stderrText)")
        // Large first: an encoder set up for one size must not be reused for another.
        for (name, source) in [("large", large), ("small", Fixtures.path("one_crossing.mp4"))] {
            let snapshot = try Self.firstFrame(of: source)
            let box = PixelBox(x: snapshot.width / 4, y: snapshot.height / 4, width: snapshot.width / 2,
                               height: snapshot.height / 2)
            let jpeg = try snapshot.jpeg(box: box)
            #expect(try snapshot.jpeg(box: box) == jpeg, "\(name): two encodings of one frame differ")
            let path = files.url.appendingPathComponent("\(name).jpg").path
            try Data(jpeg).write(to: URL(fileURLWithPath: path))
            #expect(try GrayPicture.probe(path) == "mjpeg,\(snapshot.width),\(snapshot.height)")
            #expect(try GrayPicture(decoding: path).showsOutline(x: box.x, y: box.y, width: box.width,
                                                                 height: box.height), "\(name)")
        }
        #expect(try Self.firstFrame(of: large).width == 1920)
    }
}
