import Foundation
import Testing
import VigilDetector
import VigilIngest
import VigilTestSupport

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

    @Test("encoding without a kept frame fails with a clear error")
    func emptyFails() {
        #expect(throws: MediaError.self) { try LumaSnapshot().jpeg(box: nil) }
    }

    @Test("cost of a snapshot at 640x360 and 1920x1080 (printed)")
    func encodingCost() throws {
        let files = try TemporaryDirectory()
        let large = files.url.appendingPathComponent("large.mkv").path
        let scaled = try runProcess("/usr/bin/ffmpeg", ["-v", "error", "-i", Fixtures.path("one_crossing.mp4"),
                                                        "-frames:v", "1", "-vf", "scale=1920:1080", "-c:v", "mpeg4",
                                                        large])
        try #require(scaled.status == 0, "\(scaled.stderrText)")
        for snapshot in [try Self.firstFrame(of: Fixtures.path("one_crossing.mp4")), try Self.firstFrame(of: large)] {
            let box = PixelBox(x: snapshot.width / 4, y: snapshot.height / 4, width: snapshot.width / 2,
                               height: snapshot.height / 2)
            var timings: [Double] = []
            var size = 0
            for _ in 0..<7 {
                let start = ContinuousClock.now
                size = try snapshot.jpeg(box: box).count
                timings.append((ContinuousClock.now - start) / .milliseconds(1))
            }
            print(String(format: "snapshot %dx%d: %.1f ms median to encode, %d bytes", snapshot.width, snapshot.height,
                         timings.sorted()[timings.count / 2], size))
        }
    }
}
