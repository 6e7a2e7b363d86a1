import Foundation
import Testing
import VigilTestSupport
import VigilTesting

@Suite("vigil run: threads named for top -H")
struct DaemonThreadNameTests {
    /// The names of the process's threads, from /proc/PID/task/*/comm.
    static func threadNames(of pid: Int32) -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .newlines) }
    }

    @Test("top -H shows the camera's thread as vigil-cam-<id> cut to 15 bytes, and the queue writer as vigil-queue")
    func namedThreads() async throws {
        let setup = try DaemonSetup()
        try setup.addCamera("front-door", url: Fixtures.path("one_crossing.mp4"))
        let daemon = try setup.start()
        let named = await eventually(within: 20) {
            let names = Self.threadNames(of: daemon.processIdentifier)
            return names.contains("vigil-cam-front") && names.contains("vigil-queue")
        }
        #expect(named, "threads: \(Self.threadNames(of: daemon.processIdentifier).sorted())")
        #expect(await daemon.terminate()?.status == 0)
    }
}
