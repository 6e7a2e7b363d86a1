import Foundation
import Testing
import VigilPipeline
import VigilTestSupport
import VigilTesting

/// A replay output line, parsed with Foundation's JSON reader. Health lines (`frozen`,
/// `covered`, `dark`) have only kind, camera, start and end.
struct ReplayLine: Decodable {
    let kind: String
    let camera: String
    let start: Double
    let end: Double
    let confirmed: Double?
    let peak_area: Double?
    let peak_time: Double?
    let frames: Int?
    let box: [Int]?
    let zones: [String]?
}

func parseLines(_ output: ProcessOutput) throws -> [ReplayLine] {
    try output.stdoutText.split(separator: "\n").map {
        try JSONDecoder().decode(ReplayLine.self, from: Data($0.utf8))
    }
}

@Suite("vigil replay")
struct ReplayTests {
    static let clipsWithTruth = (try? Fixtures.all().filter { $0.motion != nil }) ?? []
    static let corruptClips = (try? Fixtures.all().filter(\.corrupt)) ?? []

    @Test("motion and health events match the ground truth within 0.5 s at each edge", arguments: clipsWithTruth)
    func matchesGroundTruth(truth: GroundTruth) throws {
        let output = try runVigil(["replay", truth.path])
        #expect(output.status == 0, "\(output.stderrText)")
        let lines = try parseLines(output)
        let events = lines.filter { $0.kind == "motion" }
        let expected = try #require(truth.motion)
        #expect(events.count == expected.count, "events: \(output.stdoutText)")
        for (event, interval) in zip(events, expected) {
            #expect(abs(event.start - interval[0]) <= 0.5, "start \(event.start) vs \(interval[0])")
            #expect(abs(event.end - interval[1]) <= 0.5, "end \(event.end) vs \(interval[1])")
            #expect(event.camera == truth.clip)
            let peakArea = try #require(event.peak_area), peakTime = try #require(event.peak_time)
            let confirmed = try #require(event.confirmed), box = try #require(event.box)
            #expect(peakArea > 0 && peakArea <= 1)
            #expect(peakTime >= event.start && peakTime <= event.end)
            #expect(confirmed >= event.start && confirmed <= event.end)
            #expect(event.zones == [])
            #expect(box.count == 4 && box[2] > 0 && box[3] > 0)
            #expect(box[0] + box[2] <= truth.width && box[1] + box[3] <= truth.height)
        }
        let health = lines.filter { $0.kind != "motion" }
        let expectedHealth = truth.health ?? []
        #expect(health.count == expectedHealth.count, "health: \(output.stdoutText)")
        for (state, interval) in zip(health, expectedHealth) {
            #expect(state.kind == interval.kind)
            #expect(abs(state.start - interval.start) <= 0.5, "start \(state.start) vs \(interval.start)")
            #expect(abs(state.end - interval.end) <= 0.5, "end \(state.end) vs \(interval.end)")
            #expect(state.camera == truth.clip && state.peak_area == nil && state.box == nil)
        }
    }

    @Test("real footage of a tree in wind (fixtures/real): no event before the hand enters, the hand one event",
          arguments: [[], ["--adaptive", "--skip-loop-filter"]])
    func realTreeInWind(decoding: [String]) throws {
        let truth = try Fixtures.groundTruth(for: "real/tree.json")
        let start = try #require(truth.motion?.first?[0])
        let output = try runVigil(["replay", Fixtures.path("real/tree.mp4")] + decoding)
        #expect(output.status == 0, "\(output.stderrText)")
        let lines = try parseLines(output)
        #expect(lines.count == 1, "\(output.stdoutText)")
        let hand = try #require(lines.first)
        #expect(hand.kind == "motion" && hand.start >= start - 0.01 && hand.start <= start + 0.5, "\(output.stdoutText)")
        #expect(hand.end >= 29.0)
    }

    @Test("a far walker, 24x60 px at 1920x1080, is one event in the daemon's decoding (generate.py --far-walker)")
    func farWalkerAt1080p() throws {
        let directory = try TemporaryDirectory()
        let clip = directory.url.appendingPathComponent("far_walker.mp4").path
        try Fixtures.generate(["--far-walker", clip])
        let output = try runVigil(["replay", clip, "--adaptive", "--skip-loop-filter"])
        let events = try parseLines(output)
        #expect(events.count == 1, "\(output.stdoutText)")
        // The walker shows from 1.0 s to 11.0 s.
        let walker = try #require(events.first)
        #expect(walker.kind == "motion" && walker.start >= 0.95 && walker.start <= 1.5 && walker.end >= 10.5,
                "\(output.stdoutText)")
        #expect(try #require(walker.confirmed) - 1.0 <= 0.3, "onset: \(output.stdoutText)")
    }

    @Test("replaying twice gives byte-identical output", arguments: ["two_crossings.mp4", "corrupt.ts"])
    func deterministic(clip: String) throws {
        let first = try runVigil(["replay", Fixtures.path(clip)])
        let second = try runVigil(["replay", Fixtures.path(clip)])
        #expect(!first.stdout.isEmpty)
        #expect(first.stdout == second.stdout)
    }

    @Test("every SIMD level prints the same events as the scalar reference")
    func isaLevelsAgree() throws {
        let clip = Fixtures.path("two_crossings.mp4")
        let scalar = try runVigil(["replay", "--isa", "scalar", clip])
        let best = try runVigil(["replay", clip])
        #expect(scalar.status == 0 && !scalar.stdout.isEmpty)
        #expect(scalar.stdout == best.stdout)
    }

    @Test("corrupt and truncated files end cleanly", arguments: corruptClips)
    func corruptEndsCleanly(truth: GroundTruth) throws {
        let output = try runVigil(["replay", "--summary", truth.path])
        #expect(output.status == 0, "\(output.stderrText)")
        #expect(output.stderrText.contains("frames "))
        #expect(!output.stderrText.contains("Fatal error"))
        _ = try parseLines(output)
    }

    @Test("the camera name and the summary line are reported")
    func cameraNameAndSummary() throws {
        let output = try runVigil(["replay", "--camera", "grote-markt-1", "--summary", Fixtures.path("one_crossing.mp4")])
        let events = try parseLines(output)
        #expect(events.map(\.camera) == ["grote-markt-1"])
        let summary = try #require(output.stderrText.split(separator: "\n").last)
        #expect(summary.hasPrefix("frames 150, decode "))
        #expect(summary.contains("ms/frame, detect "))
    }

    @Test("a missing file is one clear line and a non-zero exit")
    func missingFile() throws {
        let output = try runVigil(["replay", "/nonexistent/x.mp4"])
        #expect(output.status != 0)
        #expect(output.stderrText == "vigil: cannot open /nonexistent/x.mp4: No such file or directory\n")
        #expect(output.stdout.isEmpty)
    }

    @Test("a file that is not video is one clear line and a non-zero exit")
    func notVideo() throws {
        let directory = try TemporaryDirectory()
        let path = directory.url.appendingPathComponent("notes.mp4").path
        try Data("this is not a video\n".utf8).write(to: URL(fileURLWithPath: path))
        let output = try runVigil(["replay", path])
        #expect(output.status != 0)
        let lines = output.stderrText.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("vigil: cannot open \(path): ") == true)
    }

    @Test("an unreadable file is one clear line and a non-zero exit")
    func unreadable() throws {
        let directory = try TemporaryDirectory()
        let output = try runVigil(["replay", directory.path])
        #expect(output.status != 0)
        #expect(output.stderrText.split(separator: "\n").count == 1)
        #expect(output.stderrText.hasPrefix("vigil: cannot open \(directory.path): "))
    }

    @Test("a config file changes the detector, and a broken one is one clear line")
    func configFile() throws {
        let directory = try TemporaryDirectory()
        let strict = directory.url.appendingPathComponent("strict.yaml")
        try "detector:\n  min_area: 0.5\n".write(to: strict, atomically: true, encoding: .utf8)
        let quiet = try runVigil(["replay", "--config", strict.path, Fixtures.path("one_crossing.mp4")])
        #expect(quiet.status == 0)
        #expect(quiet.stdout.isEmpty)

        let broken = directory.url.appendingPathComponent("broken.yaml")
        try "detector:\n  min_aera: 0.5\n".write(to: broken, atomically: true, encoding: .utf8)
        let output = try runVigil(["replay", "--config", broken.path, Fixtures.path("one_crossing.mp4")])
        #expect(output.status != 0)
        #expect(output.stderrText.split(separator: "\n").count == 1)
        #expect(output.stderrText.contains("unknown key 'detector.min_aera'"))

        let outOfRange = directory.url.appendingPathComponent("range.yaml")
        try "detector:\n  pixel_threshold: 900\n".write(to: outOfRange, atomically: true, encoding: .utf8)
        let rangeOutput = try runVigil(["replay", "--config", outOfRange.path, Fixtures.path("one_crossing.mp4")])
        #expect(rangeOutput.status != 0)
        #expect(rangeOutput.stderrText.contains("pixel_threshold must be 1...254 (got 900)"))

        let badZone = directory.url.appendingPathComponent("zone.yaml")
        try "cameras:\n  gate:\n    zones:\n      - name: door\n        polygon: [[0, 0], [9, 0], [9, 9]]\n        min_aera: 0.1\n"
            .write(to: badZone, atomically: true, encoding: .utf8)
        let zoneOutput = try runVigil(["replay", "--config", badZone.path, Fixtures.path("one_crossing.mp4")])
        #expect(zoneOutput.status != 0)
        #expect(zoneOutput.stderrText.contains("unknown key 'cameras.gate.zones[0].min_aera'"), "\(zoneOutput.stderrText)")
    }

    @Test("a camera's overrides apply with --camera: zones are listed in its events, masks and privacy masks hide motion")
    func perCameraZonesAndMasks() throws {
        let directory = try TemporaryDirectory()
        let config = directory.url.appendingPathComponent("cameras.yaml")
        try """
            detector:
              min_motion_frames: 3
            cameras:
              left-only:
                zones:
                  - name: left
                    polygon: [[0, 0], [320, 0], [320, 360], [0, 360]]
                  - name: sky
                    polygon: [[0, 0], [640, 0], [640, 20], [0, 20]]
              masked:
                masks: [[[0, 0], [640, 0], [640, 360], [0, 360]]]
              private-street:
                privacy_masks: [[[0, 120], [640, 120], [640, 300], [0, 300]]]
            """.write(to: config, atomically: true, encoding: .utf8)
        let clip = Fixtures.path("one_crossing.mp4")
        let zoned = try parseLines(try runVigil(["replay", "--config", config.path, "--camera", "left-only", clip]))
        #expect(zoned.map(\.zones) == [["left"]])
        let event = try #require(zoned.first), box = try #require(event.box)
        // Objects count when they reach into the zone; the figure is 40 px wide.
        #expect(box[0] < 320 && box[0] + box[2] <= 320 + 48, "only objects reaching the zone count: \(box)")
        let masked = try runVigil(["replay", "--config", config.path, "--camera", "masked", clip])
        #expect(masked.status == 0 && masked.stdout.isEmpty)
        // A privacy mask over the street is never analysed either.
        let hidden = try runVigil(["replay", "--config", config.path, "--camera", "private-street", clip])
        #expect(hidden.status == 0 && hidden.stdout.isEmpty, "\(hidden.stdoutText)")
        let other = try parseLines(try runVigil(["replay", "--config", config.path, "--camera", "elsewhere", clip]))
        #expect(other.map(\.zones) == [[]], "a camera without overrides gets the defaults")
    }
}
