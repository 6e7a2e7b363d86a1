import Foundation
import Testing
import VigilIngest
import VigilTestSupport
import VigilTesting

/// Decodes every frame of a source; returns the frames and the error that ended it.
func drain(_ source: MediaSource) -> (frames: Int, ending: MediaError, sizes: Set<[Int]>) {
    var frames = 0
    var sizes: Set<[Int]> = []
    while true {
        do {
            let frame = try source.nextFrame()
            frames += 1
            sizes.insert([frame.width, frame.height])
            precondition(frame.lumaStride >= frame.width)
        } catch {
            return (frames, error, sizes)
        }
    }
}

@Suite("media source on files")
struct FileSourceTests {
    static let intactClips = (try? Fixtures.all().filter { !$0.corrupt }) ?? []
    static let corruptClips = (try? Fixtures.all().filter(\.corrupt)) ?? []

    @Test("decoded frame counts equal ffprobe's", arguments: intactClips)
    func frameCountsMatchFfprobe(truth: GroundTruth) throws {
        let source = try MediaSource(url: truth.path)
        #expect(source.info.codec == "h264")
        #expect(source.info.width == truth.width && source.info.height == truth.height)
        let result = drain(source)
        #expect(result.ending.code == .endOfStream)
        #expect(result.frames == (try ffprobeFrameCount(truth.path)))
        #expect(result.frames == truth.frames)
    }

    @Test("corrupt and truncated files decode what they can and end", arguments: corruptClips)
    func corruptFilesEnd(truth: GroundTruth) throws {
        let source = try MediaSource(url: truth.path)
        let result = drain(source)
        #expect(result.frames > 0)
        #expect(result.frames == (try ffprobeFrameCount(truth.path)))
        #expect([.endOfStream, .invalidData].contains(result.ending.code))
    }

    @Test("the picture size is taken from every frame: a mid-stream change shows")
    func resolutionChange() throws {
        let source = try MediaSource(url: Fixtures.path("resolution_change.ts"))
        #expect(drain(source).sizes == [[640, 360], [480, 270]])
    }

    @Test("a missing file is classified as not found")
    func missingFile() {
        #expect(throws: MediaError(code: .notFound, reason: "No such file or directory")) {
            try MediaSource(url: "/nonexistent/clip.mp4")
        }
    }

    @Test("a file that is not video is classified as invalid data")
    func notVideo() throws {
        let directory = try TemporaryDirectory()
        let path = directory.url.appendingPathComponent("x.mp4").path
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: MediaError.self) { try MediaSource(url: path) }
        #expect(error?.code == .invalidData)
    }

    @Test("an option libav does not know fails the open instead of being ignored")
    func unknownOption() {
        let options = SourceOptions(libavOptions: ["no_such_option": "1"])
        let error = #expect(throws: MediaError.self) {
            try MediaSource(url: Fixtures.path("one_crossing.mp4"), options: options)
        }
        #expect(error?.code == .unknownOption)
        #expect(error?.reason.contains("no_such_option") == true)
    }

    @Test("presentation times rise and keyframes are flagged")
    func timesAndKeyframes() throws {
        let source = try MediaSource(url: Fixtures.path("one_crossing.mp4"))
        var times: [Double] = []
        var keyframes = 0
        while let frame = try? source.nextFrame() {
            times.append(frame.presentationTime ?? .nan)
            if frame.isKeyframe { keyframes += 1 }
            #expect(frame.packetSize > 0)
        }
        #expect(times.count == 150)
        #expect(zip(times, times.dropFirst()).allSatisfy { $1 > $0 })
        #expect(abs((times.last! - times.first!) - 149.0 / 15) < 0.01)
        #expect(keyframes == 5)
    }
}

@Suite("credential redaction")
struct RedactorTests {
    @Test("userinfo, query secrets, headers and registered secrets in three forms are masked")
    func masksEveryForm() {
        var redactor = Redactor()
        redactor.register(secret: "p@ss:w/rd#1", user: "admin")
        let base64 = Data("admin:p@ss:w/rd#1".utf8).base64EncodedString()
        let lines = [
            "Opening rtsp://admin:p%40ss%3Aw%2Frd%231@10.0.0.5:554/stream1",
            "raw p@ss:w/rd#1 here",
            "Authorization: Basic \(base64)",
            "header \(base64) again",
            "GET /cgi?user=admin&password=hunter2&x=1",
        ]
        for line in lines {
            let redacted = redactor.redact(line)
            #expect(!redacted.contains("p@ss"), "\(redacted)")
            #expect(!redacted.contains("p%40ss"), "\(redacted)")
            #expect(!redacted.contains(base64), "\(redacted)")
            #expect(!redacted.contains("hunter2"), "\(redacted)")
        }
        #expect(redactor.redact(lines[0]) == "Opening rtsp://***@10.0.0.5:554/stream1")
    }
}
