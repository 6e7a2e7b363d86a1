import Foundation
import Testing
import VigilTestSupport
import VigilTesting

/// Out-of-range numbers and unusable files given to `vigil replay` and `vigil camera test` (issue 12):
/// each is one line naming the key or flag, the value and the range, never a trap.
@Suite("numbers and files from a bad day")
struct HostileConfigTests {
    static let clip = Fixtures.path("one_crossing.mp4")

    func replay(config yaml: String, extra: [String] = []) throws -> ProcessOutput {
        let files = try TemporaryDirectory()
        let path = files.url.appendingPathComponent("vigil.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try runVigil(["replay", Self.clip, "--config", path] + extra)
    }

    @Test("every number in the config has a range, checked when the file is read",
          arguments: [
            ("daemon: {adaptive_quiet_seconds: 1e300}", "daemon.adaptive_quiet_seconds must be 0...86400 seconds (got 1e+300)"),
            ("daemon: {open_timeout: .inf}", "daemon.open_timeout must be 0.1...3600 seconds (got inf)"),
            ("daemon: {read_timeout: 1e30}", "daemon.read_timeout must be 0.1...3600 seconds (got 1e+30)"),
            ("daemon: {registry_poll: 1e300}", "daemon.registry_poll must be 0.1...3600 seconds (got 1e+300)"),
            ("daemon: {registry_poll: 1e-300}", "daemon.registry_poll must be 0.1...3600 seconds (got 1e-300)"),
            ("daemon: {snapshot_max_age_days: 1e300}", "daemon.snapshot_max_age_days must be 0.001...36500 days (got 1e+300)"),
            ("daemon: {max_backoff: .nan}", "daemon.max_backoff must be 0.01...86400 seconds (got nan)"),
            ("daemon: {credentials_retry: 1e12}", "daemon.credentials_retry must be 1...604800 seconds (got 1000000000000)"),
            ("daemon: {cameras: {cam: {offline_after: -1}}}", "daemon.cameras.cam.offline_after must be 0.1...86400 seconds (got -1)"),
            ("detector: {event_gap: .inf}", "detector.event_gap must be 0...3600 seconds (got inf)"),
            ("detector: {max_event_length: 1e300}", "detector.max_event_length must be 0...86400 seconds (got 1e+300)"),
            ("detector: {min_motion_frames: 9223372036854775807}", "detector.min_motion_frames must be 1...1000 (got 9223372036854775807)"),
            ("detector: {analysis_width: 100000000}", "detector.analysis_width must be 16...7680 pixels (got 100000000)"),
            ("detector: {covered_edges: .nan}", "detector.covered_edges must be 0...255 (got nan)"),
            ("cameras: {cam: {cooldown: .inf}}", "cameras.cam.cooldown must be 0...86400 seconds (got inf)"),
            ("cameras: {cam: {masks: [[[0, 0], [10, .inf], [20, 20]]]}}", "cameras.cam.masks: a polygon coordinate must be -100000...100000 pixels (got inf)"),
            ("reporter: {exec: {command: 'true', timeout: .nan}}", "reporter.exec.timeout must be 0.01...3600 seconds (got nan)"),
            ("reporter: {exec: {command: 'true', max_backoff: 1e300}}", "reporter.exec.max_backoff must be 0.01...86400 seconds (got 1e+300)"),
            ("reporter: {exec: {command: 'true', dead_after: 1000000000}}", "reporter.exec.dead_after must be 1...1000 (got 1000000000)"),
            ("reporter: {alert_log: ~}", "'reporter.alert_log' must be a file path"),
          ])
    func configRanges(yaml: String, problem: String) throws {
        let output = try replay(config: yaml)
        #expect(output.status == 1)
        #expect(output.stdout.isEmpty)
        #expect(output.stderrText.hasPrefix("vigil: config "), "\(output.stderrText)")
        #expect(output.stderrText.hasSuffix(": \(problem)\n"), "\(output.stderrText)")
    }

    @Test("out-of-range flags are one line naming the flag, the value and the range",
          arguments: [
            (["replay", clip, "--adaptive", "--adaptive-quiet-seconds", "1e300"], "--adaptive-quiet-seconds must be 0...86400 seconds (got 1e+300)"),
            (["replay", clip, "--adaptive", "--adaptive-quiet-seconds", "inf"], "--adaptive-quiet-seconds must be 0...86400 seconds (got inf)"),
            (["replay", clip, "--adaptive", "--adaptive-quiet-seconds", "-1"], "--adaptive-quiet-seconds must be 0...86400 seconds (got -1)"),
            (["camera", "test", "cam", "--timeout", "nan"], "--timeout must be 0.1...3600 seconds (got nan)"),
            (["camera", "test", "cam", "--timeout", "0"], "--timeout must be 0.1...3600 seconds (got 0)"),
            (["camera", "test", "cam", "--timeout", "-1"], "--timeout must be 0.1...3600 seconds (got -1)"),
            (["bench", clip, "--repeats", "0"], "--repeats must be 1...100 (got 0)"),
            (["alerts", "tail", "--since", "1e300d"],
             "--since '1e300d' is not a time; use e.g. 30m, 2h, 7d, 14:00, 2026-11-29 or 2026-11-29T14:00"),
          ] as [([String], String)])
    func flagRanges(arguments: [String], problem: String) throws {
        let state = try TemporaryDirectory()
        let output = try runVigil(arguments + (["camera", "alerts"].contains(arguments[0]) ? ["--state-dir", state.path] : []))
        #expect(output.status == 1)
        #expect(output.stderrText == "vigil: \(problem)\n")
    }

    @Test("unusable config files: a directory, binary data, broken and deeply nested YAML, each one short line")
    func unusableConfigFiles() throws {
        let files = try TemporaryDirectory()
        let asDirectory = try runVigil(["replay", Self.clip, "--config", files.path])
        #expect(asDirectory.stderrText == "vigil: config \(files.path) is a directory; pass a file\n")

        let binary = files.url.appendingPathComponent("binary.yaml")
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: binary)
        let asBinary = try runVigil(["replay", Self.clip, "--config", binary.path])
        #expect(asBinary.stderrText == "vigil: config \(binary.path) is not UTF-8 text (binary data?); pass a text file\n")

        let broken = try replay(config: "detector:\n  pixel_threshold: 15\n  min_area: [\n")
        #expect(broken.stderrText.split(separator: "\n").count == 1, "\(broken.stderrText)")
        #expect(broken.stderrText.contains("is not valid YAML: line 4, column 1:"), "\(broken.stderrText)")
        #expect(!broken.stderrText.contains("pixel_threshold"))

        for deep in [String(repeating: "[", count: 40_000), String(repeating: "- ", count: 20_000) + "x"] {
            let output = try replay(config: "detector: " + deep + "\n")
            #expect(output.status == 1)
            #expect(output.stderrText.split(separator: "\n").count == 1)
            #expect(output.stderrText.utf8.count < 400, "\(output.stderrText.utf8.count) bytes")
        }
    }

    @Test("a file in which nothing decodes, or with absurd dimensions, fails with one line")
    func nothingDecodes() throws {
        let files = try TemporaryDirectory()
        // A transport stream whose packets all carry garbage: it opens, and no picture comes out.
        var stream = Data()
        let original = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("corrupt.ts"))).prefix(188 * 40)
        for (index, packet) in stride(from: 0, to: original.count, by: 188).enumerated() {
            var bytes = Array(original[packet..<packet + 188])
            if index > 4 { for offset in 8..<188 { bytes[offset] = UInt8(truncatingIfNeeded: offset &* 31 &+ index) } }
            stream.append(contentsOf: bytes)
        }
        let garbage = files.url.appendingPathComponent("garbage.ts")
        try stream.write(to: garbage)
        let output = try runVigil(["replay", garbage.path])
        #expect(output.status == 1)
        #expect(output.stderrText == "vigil: \(garbage.path): no video frame could be decoded; is it a video file?\n",
                "\(output.stderrText)")

        let huge = files.url.appendingPathComponent("huge.y4m")
        try Data("YUV4MPEG2 W100000 H100000 F15:1 C420jpeg\nFRAME\n".utf8 + [UInt8](repeating: 16, count: 64)).write(to: huge)
        let absurd = try runVigil(["replay", huge.path])
        #expect(absurd.status == 1)
        #expect(absurd.stderrText == "vigil: cannot open \(huge.path): FFmpeg cannot read it as video (Device or "
                + "resource busy); --verbose shows FFmpeg's own messages\n", "\(absurd.stderrText)")
    }
}
