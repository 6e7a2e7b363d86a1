import Foundation
import Testing
import VigilDetector
import VigilIngest
import VigilPipeline
import VigilTestSupport
import VigilTesting

/// Streams that are not tidy, replayed with adaptive decoding: it must find what decoding every
/// frame finds.
@Suite("adaptive decoding on untidy streams")
struct AdaptiveReplayTests {
    /// Remuxes or re-encodes `input` to MPEG-TS with FFmpeg; `x264` nil copies the video as it is.
    func transportStream(_ input: String, in directory: TemporaryDirectory, name: String,
                         x264: [String]? = nil) throws -> URL {
        let output = directory.url.appendingPathComponent(name)
        let codec = x264.map { ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-threads", "1"] + $0 }
            ?? ["-c", "copy"]
        let result = try runProcess("/usr/bin/ffmpeg", ["-hide_banner", "-loglevel", "error", "-i", input] + codec
                                    + ["-f", "mpegts", output.path])
        try #require(result.status == 0, "ffmpeg: \(result.stderrText)")
        return output
    }

    /// Joins transport streams byte by byte: the timestamps restart at each join, as when a
    /// camera's encoder restarts.
    func join(_ parts: [URL], as name: String, in directory: TemporaryDirectory) throws -> String {
        let output = directory.url.appendingPathComponent(name)
        try Data(parts.map { try Data(contentsOf: $0) }.joined()).write(to: output)
        return output.path
    }

    func motion(_ path: String, adaptive: AdaptiveDecoding?) throws -> [ReplayEvent] {
        var events: [ReplayEvent] = []
        _ = try Replay.run(path: path, camera: "test", settings: CameraDetectionSettings(), skipLoopFilter: true,
                           adaptive: adaptive) { if $0.kind == "motion" { events.append($0) } }
        return events
    }

    @Test("timestamps that restart: the crossing after the join is still found")
    func timestampsRestart() throws {
        let directory = try TemporaryDirectory()
        let quiet = try transportStream(Fixtures.path("static_noise.mp4"), in: directory, name: "quiet.ts")
        let crossing = try transportStream(Fixtures.path("one_crossing.mp4"), in: directory, name: "crossing.ts")
        let path = try join([quiet, quiet, crossing], as: "restarts.ts", in: directory)
        let full = try motion(path, adaptive: nil)
        let adaptive = try motion(path, adaptive: AdaptiveDecoding(quietSeconds: 1))
        #expect(full.count == 1 && adaptive.count == 1, "every frame: \(full); adaptive: \(adaptive)")
        // The crossing shows from 23 s to 27 s of media time; the clips' GOP is 2 s.
        let event = try #require(adaptive.first)
        #expect(event.start >= 22.9 && event.start <= 25.0 && event.end >= 26.5, "\(event)")
    }

    @Test("keyframes that stop coming: full decoding resumes and the walker is found")
    func keyframesStop() throws {
        let directory = try TemporaryDirectory()
        let quiet = try transportStream(Fixtures.path("static_noise.mp4"), in: directory, name: "quiet.ts")
        // The distant walker (crossing from 1 s to 11 s), encoded with no keyframe after the first.
        let walker = try transportStream(Fixtures.path("small_walker.mp4"), in: directory, name: "walker.ts",
                                         x264: ["-g", "100000", "-sc_threshold", "0", "-bf", "0"])
        let path = try join([quiet, walker], as: "no-keyframes.ts", in: directory)
        let adaptive = try motion(path, adaptive: AdaptiveDecoding(quietSeconds: 1))
        let event = try #require(adaptive.first, "the walker was not found")
        #expect(adaptive.count == 1)
        // Seen from 11 s of media time; a keyframe check is overdue 1.5 GOPs (3 s) after the last.
        #expect(event.start >= 10.9 && event.start <= 14.0, "\(event)")
        #expect((event.raised ?? 99) - event.start <= 3.5, "\(event)")
    }

    /// `clip` after a 10.4 s quiet lead-in at a constant 450 kbit/s with a GOP of 50 (3.3 s), from
    /// `generate.py`: the P-frame sizes follow the rate control, not the walker.
    func constantBitRate(_ clip: String, in directory: TemporaryDirectory) throws -> String {
        try Fixtures.generate(["--lead-in", "10.4", "--gop", "50", "--cbr", "450", "--clip", clip, "--out", directory.url.path])
        return directory.url.appendingPathComponent("\(clip).mp4").path
    }

    @Test("a constant-bit-rate stream: the daemon's decoding alerts within a second of decoding every frame")
    func constantBitRateOnTime() throws {
        let directory = try TemporaryDirectory()
        // The walker enters at 13.4 s, just after the keyframe at 13.33 s.
        let path = try constantBitRate("one_crossing", in: directory)
        let full = try #require(try motion(path, adaptive: nil).first, "every frame: the walker was not found")
        let daemon = try motion(path, adaptive: AdaptiveDecoding())
        let event = try #require(daemon.first, "the daemon's decoding did not find the walker")
        #expect(daemon.count == 1, "\(daemon)")
        let fullAlert = try #require(full.confirmed)
        let daemonAlert = try #require(event.raised ?? event.confirmed)
        #expect(fullAlert >= 13.4 && fullAlert <= 13.9, "every frame: \(full)")
        #expect(daemonAlert - fullAlert <= 1.0, "every frame: \(full); daemon's decoding: \(event)")
    }

    @Test("motion a keyframe check finds before the packet sizes do keeps every frame decoded for the next one")
    func missedWakeUpHoldsOff() throws {
        let directory = try TemporaryDirectory()
        // Crossings from 12.0 s and from 18.0 s; keyframes at 10.0, 13.3, 16.7 and 20.0 s.
        let path = try constantBitRate("two_crossings", in: directory)
        let full = try motion(path, adaptive: nil)
        try #require(full.count == 2, "every frame: \(full)")
        // Keyframe checks after 1 s of quiet whatever the packets' share of a keyframe: only the miss keeps
        // the frames between the crossings decoded.
        let source = try MediaSource(url: path, options: SourceOptions(openTimeout: .zero, readTimeout: .zero,
                                                                       skipLoopFilter: true))
        let feed = FrameFeed(source: source, adaptive: AdaptiveDecoding(quietSeconds: 1, maximumQuietShare: 1))
        var wantsEveryFrame = false
        var decodedAt: [Double] = []
        while let frame = try? feed.nextFrame(wantsEveryFrame: wantsEveryFrame) {
            let time = frame.presentationTime ?? 0
            decodedAt.append(time)
            // "Motion" while a crossing shows: what the analysis would ask for.
            wantsEveryFrame = full.contains { time >= $0.start && time <= $0.end }
        }
        // The first crossing is found by the keyframe at 13.3 s (a miss); from then on every frame is decoded
        // (the clip ends at 22.4 s).
        #expect(feed.keyframeWakeUps == 1, "\(feed.keyframeWakeUps) keyframe wake-ups")
        let first = decodedAt.firstIndex { $0 >= 13.3 } ?? decodedAt.endIndex
        let after = decodedAt[first...]
        #expect(after.count >= 135, "\(after.count) frames decoded from 13.3 s on")
        #expect(zip(after, after.dropFirst()).allSatisfy { $1 - $0 < 0.1 }, "a gap in full decoding after the miss")
    }

    @Test("a size wake-up whose catch-up shows the motion seconds back counts as a miss: every frame decoded next time")
    func lateWakeUpHoldsOff() throws {
        let directory = try TemporaryDirectory()
        // The 1080p noisy street at constant quality (CRF 24): its P-frames are 4.9% of a keyframe, under the
        // share limit, and a crossing adds about 13% to them, so the sizes wake about 3 s after the walker
        // enters (docs/benchmarks-stages.md). Two loops: crossings from 30 s and from 90 s.
        let clip = directory.url.appendingPathComponent("crf.mp4").path
        try Fixtures.generate(["--bench-duty", clip, "--rate-control", "crf"])
        let looped = directory.url.appendingPathComponent("crf-twice.mp4").path
        let joined = try runProcess("/usr/bin/ffmpeg", ["-hide_banner", "-loglevel", "error", "-stream_loop", "1", "-i", clip,
                                                        "-c", "copy", looped])
        try #require(joined.status == 0, "ffmpeg: \(joined.stderrText)")
        // The walker shows from the frame after the keyframes at 30.0 and 90.0 s (`vigil replay`: from 30.067 s).
        let crossings: [ClosedRange<Double>] = [30.05...36.0, 90.05...96.0]
        let source = try MediaSource(url: looped, options: SourceOptions(openTimeout: .zero, readTimeout: .zero,
                                                                         skipLoopFilter: true))
        let feed = FrameFeed(source: source, adaptive: AdaptiveDecoding())
        var wantsEveryFrame = false
        var decodedAt: [Double] = []
        while let frame = try? feed.nextFrame(wantsEveryFrame: wantsEveryFrame) {
            let time = frame.presentationTime ?? 0
            decodedAt.append(time)
            wantsEveryFrame = crossings.contains { $0.contains(time) }  // what the analysis would ask for
        }
        // Some crossing was announced by the sizes (not by a keyframe check), and adaptive decoding was
        // skipping frames before it.
        #expect(feed.packetWakeUps >= 1 && feed.keyframeWakeUps == 0,
                "\(feed.packetWakeUps) size wake-ups, \(feed.keyframeWakeUps) by keyframe")
        let gaps = zip(decodedAt, decodedAt.dropFirst()).filter { $1 - $0 > 0.1 }
        #expect(gaps.contains { $0.0 > 40 && $0.1 < 90 }, "adaptive decoding never engaged between the crossings")
        // After the second crossing's late wake-up every frame stays decoded; without the rule, decoding
        // would drop to keyframes 5 s after the crossing (from about 101 s).
        let afterSecond = gaps.filter { $0.0 >= 96 }
        #expect(afterSecond.isEmpty, "frames skipped after the late wake-up: \(afterSecond.prefix(3))")
        #expect((decodedAt.last ?? 0) > 119, "the clip was not read to its end: \(decodedAt.last ?? 0)")
    }

    @Test("B-frames: every keyframe check analyses the keyframe, not a picture held back from the GOP before")
    func bFramesKeyframeChecks() throws {
        let directory = try TemporaryDirectory()
        let path = directory.url.appendingPathComponent("bframes.mp4").path
        let result = try runProcess("/usr/bin/ffmpeg", [
            "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15", "-frames:v", "300",
            "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "16", "-sc_threshold", "0",
            "-pix_fmt", "yuv420p", "-threads", "1", path,
        ])
        try #require(result.status == 0, "ffmpeg: \(result.stderrText)")
        let source = try MediaSource(url: path)
        // The test pattern moves in every frame: its P-frames are too large a share of a keyframe for
        // adaptive decoding by default, and every keyframe check finds motion the sizes did not announce.
        let feed = FrameFeed(source: source, adaptive: AdaptiveDecoding(quietSeconds: 1, maximumQuietShare: 1,
                                                                        missHoldOffSeconds: 0))
        var checks = 0
        // Each keyframe check "shows motion" and wakes full decoding; 1 s (15 frames) later the feed
        // drops to keyframes again, right after the GOP's last packet (GOP 16): the decoder still
        // holds a B-frame picture back when the next keyframe is checked.
        var wantsEveryFrame = false
        while let frame = try? feed.nextFrame(wantsEveryFrame: wantsEveryFrame) {
            wantsEveryFrame = feed.lastFrameWasKeyframeCheck
            guard feed.lastFrameWasKeyframeCheck else { continue }
            checks += 1
            #expect(frame.isKeyframe, "a keyframe check returned a picture at \(frame.presentationTime ?? -1) s")
        }
        #expect(checks >= 5)
    }
}
