import Foundation
import Testing
import VigilIngest
import VigilTestSupport
import VigilTesting

/// A picture's identity: its presentation time and a hash of its luma rows.
struct PictureDigest: Hashable {
    var time: Double
    var hash: UInt64

    init(_ frame: DecodedFrame) {
        time = frame.presentationTime ?? .nan
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for row in 0..<frame.height {
            let line = UnsafeBufferPointer(start: frame.luma + row * frame.lumaStride, count: frame.width)
            for byte in line { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        self.hash = hash
    }
}

/// Every picture of a file, decoded the ordinary way.
func everyPicture(_ path: String) throws -> [PictureDigest] {
    let source = try MediaSource(url: path)
    var pictures: [PictureDigest] = []
    while let frame = try? source.nextFrame() { pictures.append(PictureDigest(frame)) }
    return pictures
}

/// Encodes a synthetic clip with FFmpeg's test source (`ffmpeg` from Debian's package).
func encodeTestClip(in directory: TemporaryDirectory, name: String, frames: Int, size: String,
                    x264: [String]) throws -> String {
    let path = directory.url.appendingPathComponent(name).path
    let result = try runProcess("/usr/bin/ffmpeg", [
        "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=15",
        "-frames:v", "\(frames)", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-threads", "1",
    ] + x264 + [path])
    try #require(result.status == 0, "ffmpeg: \(result.stderrText)")
    return path
}

@Suite("GOP buffer: decoding on demand")
struct GOPBufferTests {
    /// Reads the whole file packet by packet; decodes each keyframe alone and, in every other GOP,
    /// catches up on the buffered packets after `catchUpAfter` of them. Returns the pictures.
    func keyframesWithCatchUps(_ path: String, catchUpAfter: Int) throws -> (pictures: [PictureDigest], source: MediaSource) {
        let source = try MediaSource(url: path)
        var pictures: [PictureDigest] = []
        var gop = 0, packetsInGOP = 0
        while let packet = try? source.readPacket() {
            if packet.isKeyframe {
                gop += 1
                packetsInGOP = 0
                if let frame = try source.decodeBuffered(drain: true) { pictures.append(PictureDigest(frame)) }
                continue
            }
            packetsInGOP += 1
            if gop % 2 == 0, packetsInGOP == catchUpAfter {
                while let frame = try source.decodeBuffered(drain: false) { pictures.append(PictureDigest(frame)) }
            }
        }
        return (pictures, source)
    }

    @Test("catching up on a GOP gives exactly the pictures of full decoding, none twice")
    func catchUpMatchesFullDecoding() throws {
        let path = Fixtures.path("one_crossing.mp4")
        let reference = try everyPicture(path)
        let (pictures, source) = try keyframesWithCatchUps(path, catchUpAfter: 12)
        let known = Set(reference)
        #expect(pictures.allSatisfy(known.contains), "a picture differs from full decoding")
        #expect(zip(pictures, pictures.dropFirst()).allSatisfy { $0.time < $1.time }, "out of order or twice")
        // 5 GOPs of 30: each keyframe, and 12 P-frames caught up in GOPs 2 and 4.
        #expect(pictures.count == 5 + 2 * 12)
        let counters = source.counters
        #expect(counters.packetsRead == 150)
        #expect(counters.packetsDecoded == 5 + 2 * 12)
        // The packets of every GOP but the last are released undecoded at the next keyframe.
        #expect(counters.packetsSkipped == 150 - 30 - (5 - 1 + 2 * 12))
    }

    @Test("with B-frames the keyframe is drained out, and catching up restarts from it without repeats")
    func catchUpWithReordering() throws {
        let directory = try TemporaryDirectory()
        let path = try encodeTestClip(in: directory, name: "bframes.mp4", frames: 90, size: "160x96",
                                      x264: ["-bf", "2", "-g", "15", "-sc_threshold", "0"])
        let reference = try everyPicture(path)
        #expect(reference.count == 90)
        let (pictures, _) = try keyframesWithCatchUps(path, catchUpAfter: 9)
        let known = Set(reference)
        #expect(pictures.allSatisfy(known.contains), "a picture differs from full decoding")
        #expect(zip(pictures, pictures.dropFirst()).allSatisfy { $0.time < $1.time }, "out of order or twice")
        let keyframeTimes = try ffprobeKeyframeTimes(path)
        #expect(keyframeTimes.count == 6)
        #expect(keyframeTimes.allSatisfy { time in pictures.contains { abs($0.time - time) < 1e-6 } })
        #expect(pictures.count > keyframeTimes.count)
    }

    @Test("a GOP longer than the buffer is still decoded frame by frame")
    func longGOPDecodesFully() throws {
        let directory = try TemporaryDirectory()
        let path = try encodeTestClip(in: directory, name: "long-gop.mp4", frames: 700, size: "64x48",
                                      x264: ["-g", "1000", "-sc_threshold", "0", "-bf", "0"])
        let source = try MediaSource(url: path)
        let result = drain(source)
        #expect(result.ending.code == .endOfStream)
        #expect(result.frames == 700)
        #expect(source.counters.packetsSkipped == 0)
    }

    @Test("adaptive decoding of a quiet scene decodes its keyframes only, once it has learned the quiet")
    func quietSceneDecodesKeyframes() throws {
        let source = try MediaSource(url: Fixtures.path("static_noise.mp4"))
        let feed = FrameFeed(source: source, adaptive: AdaptiveDecoding(quietSeconds: 2))
        var frames = 0
        while (try? feed.nextFrame(wantsEveryFrame: false)) != nil { frames += 1 }
        // 2 s of full decoding (30 frames, one GOP), then one keyframe per 2 s GOP.
        #expect(source.counters.packetsRead == 150)
        #expect(feed.packetWakeUps == 0)
        #expect(frames == 30 + 4, "decoded \(frames) frames")
    }

    @Test("once the analysis wants every frame, every later frame is decoded")
    func analysisWakesFullDecoding() throws {
        let source = try MediaSource(url: Fixtures.path("static_noise.mp4"))
        let feed = FrameFeed(source: source, adaptive: AdaptiveDecoding(quietSeconds: 1))
        var frames = 0
        var wantsEveryFrame = false
        while (try? feed.nextFrame(wantsEveryFrame: wantsEveryFrame)) != nil {
            frames += 1
            if !feed.isDecodingEveryFrame { wantsEveryFrame = true }  // the first keyframe-only frame "shows motion"
        }
        #expect(feed.keyframeWakeUps == 1)
        #expect(frames > 100)
        #expect(frames + source.counters.packetsSkipped == 150, "a frame was lost or decoded twice")
    }
}

/// Presentation times of the keyframes of a file, from ffprobe.
func ffprobeKeyframeTimes(_ path: String) throws -> [Double] {
    let result = try runProcess("/usr/bin/ffprobe", [
        "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", path,
    ])
    return result.stdoutText.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: ",")
        return fields.count >= 2 && fields[1].contains("K") ? Double(fields[0]) : nil
    }
}

@Suite("packet sizes as a motion signal")
struct PacketSizeMonitorTests {
    /// The times of the P-frame packets at which the monitor reports growth. As in `FrameFeed`,
    /// the quiet level is learned first (while every frame is decoded), here until `learnUntil`.
    func growth(in path: String, learnUntil: Double) throws -> [Double] {
        let source = try MediaSource(url: path)
        var monitor = PacketSizeMonitor()
        var found: [Double] = []
        while let packet = try? source.readPacket() {
            let time = packet.presentationTime ?? .nan
            if packet.isKeyframe {
                monitor.keyframe(packet.size)
            } else if time < learnUntil {
                monitor.learn(packet.size)
            } else if monitor.judge(packet.size) {
                found.append(time)
            }
        }
        return found
    }

    @Test("a person walking in makes the packets grow within 0.4 s; the empty street before it does not")
    func walkerMakesPacketsGrow() throws {
        let directory = try TemporaryDirectory()
        // one_crossing after 6 s of empty street: the walker enters at 9.0 s.
        let path = try Fixtures.leadInVariant("one_crossing", seconds: 6, in: directory)
        let first = try #require(try growth(in: path, learnUntil: 5).first, "no growth found")
        #expect(first >= 9.0 && first <= 9.4, "first growth at \(first) s")
    }

    @Test("a quiet street with sensor noise never looks like a change")
    func quietSceneStaysQuiet() throws {
        let found = try growth(in: Fixtures.path("static_noise.mp4"), learnUntil: 2.5)
        #expect(found.isEmpty, "\(found)")
    }
}
