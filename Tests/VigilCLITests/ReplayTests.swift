import Foundation
import Testing
import VigilTestSupport

/// A replay output line, parsed with Foundation's JSON reader.
struct ReplayLine: Decodable {
    let kind: String
    let camera: String
    let start: Double
    let end: Double
    let peak_area: Double
    let peak_time: Double
    let frames: Int
    let box: [Int]
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

    @Test("events match the ground truth within 0.5 s at each edge", arguments: clipsWithTruth)
    func matchesGroundTruth(truth: GroundTruth) throws {
        let output = try runVigil(["replay", truth.path])
        #expect(output.status == 0, "\(output.stderrText)")
        let events = try parseLines(output)
        let expected = try #require(truth.motion)
        #expect(events.count == expected.count, "events: \(output.stdoutText)")
        for (event, interval) in zip(events, expected) {
            #expect(abs(event.start - interval[0]) <= 0.5, "start \(event.start) vs \(interval[0])")
            #expect(abs(event.end - interval[1]) <= 0.5, "end \(event.end) vs \(interval[1])")
            #expect(event.kind == "motion")
            #expect(event.camera == truth.clip)
            #expect(event.peak_area > 0 && event.peak_area <= 1)
            #expect(event.peak_time >= event.start && event.peak_time <= event.end)
            #expect(event.box.count == 4 && event.box[2] > 0 && event.box[3] > 0)
            #expect(event.box[0] + event.box[2] <= truth.width && event.box[1] + event.box[3] <= truth.height)
        }
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
    }
}
