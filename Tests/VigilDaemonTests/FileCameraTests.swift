import Foundation
import Testing
import VigilTestSupport
import VigilTesting

@Suite("vigil run: cameras that are local files with bad content")
struct FileCameraTests {
    /// CPU seconds (user + system) the process has used, from /proc.
    static func cpuSeconds(of pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command.
        return ((Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test("a file that opens but yields no frame is retried on the backoff, not in a busy loop")
    func fileWithoutFrames() async throws {
        let setup = try DaemonSetup()
        // one_crossing.mp4 with its media data zeroed: the stream parameters are there, no picture decodes.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("one_crossing.mp4"))))
        let mdat = try #require((0..<bytes.count - 4).first { bytes[$0..<$0 + 4].elementsEqual("mdat".utf8) })
        let size = Int(bytes[mdat - 4]) << 24 | Int(bytes[mdat - 3]) << 16 | Int(bytes[mdat - 2]) << 8 | Int(bytes[mdat - 1])
        for index in (mdat + 4)..<min(bytes.count, mdat - 4 + size) { bytes[index] = 0 }
        let path = setup.files.url.appendingPathComponent("no_frames.mp4").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try setup.addCamera("blank", url: path)
        let daemon = try setup.start()
        #expect(await eventually(within: 10) { daemon.log.contains("camera=blank camera unavailable") })
        let cpuBefore = Self.cpuSeconds(of: daemon.processIdentifier)
        try await Task.sleep(for: .seconds(6))
        let cpu = Self.cpuSeconds(of: daemon.processIdentifier) - cpuBefore
        let attempts = daemon.log.components(separatedBy: "camera=blank camera unavailable").count - 1
        let lines = daemon.log.split(separator: "\n").count
        print("file without frames: \(attempts) attempts, \(lines) log lines, \(String(format: "%.2f", cpu)) CPU s in about 7 s")
        // Backoff 0.5 s doubling to 2 s: a handful of attempts, not thousands.
        #expect(attempts <= 8, "\(attempts) attempts")
        #expect(lines < 250, "\(lines) log lines")  // FFmpeg's reports of the damage: at most 20 a second
        #expect(cpu < 2, "\(cpu) CPU seconds in 6 s")
        #expect(await daemon.terminate()?.status == 0)
    }

    @Test("a file whose timestamps jump by 20,000 s does not put its camera to sleep")
    func timestampJump() async throws {
        let setup = try DaemonSetup()
        // one_crossing.mp4 (crossing from 3 s to 7 s) with 20,000 s added to every timestamp from frame 10 on.
        let path = setup.files.url.appendingPathComponent("jump.mkv").path
        let output = try runProcess("/usr/bin/ffmpeg", [
            "-v", "error", "-y", "-i", Fixtures.path("one_crossing.mp4"), "-c", "copy",
            "-bsf:v", "setts=ts=if(gte(N\\,10)\\,TS+20000000\\,TS)", path,
        ])
        try #require(output.status == 0, "\(output.stderrText)")
        try setup.addCamera("jumpy", url: path)
        let daemon = try setup.start()
        let startedAt = Date()
        let found = await eventually(within: 15) { !daemon.alerts(kind: "motion_started", camera: "jumpy").isEmpty }
        print("timestamp jump of 20,000 s: motion_started after \(String(format: "%.1f s", Date().timeIntervalSince(startedAt)))")
        #expect(found, "the camera went to sleep: \(daemon.log)")
        #expect(await daemon.terminate()?.status == 0)
    }
}
