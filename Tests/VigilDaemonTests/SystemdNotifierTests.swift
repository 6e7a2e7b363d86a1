import Foundation
import Testing
import VigilDaemon
import VigilTestSupport
import VigilTesting

@Suite("sd_notify without libsystemd")
struct SystemdNotifierTests {
    @Test("READY, STATUS, WATCHDOG and STOPPING arrive as datagrams on $NOTIFY_SOCKET")
    func messagesArrive() async throws {
        let directory = try TemporaryDirectory()
        let socket = try NotifySocket(directory: directory)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "30000000"])
        #expect(notifier.isEnabled)
        #expect(notifier.watchdogInterval == .seconds(30))
        notifier.ready()
        notifier.status("2/3 cameras streaming,\n1 in backoff")
        notifier.watchdog()
        notifier.stopping()
        #expect(await socket.waitFor { $0 == "STOPPING=1" })
        #expect(socket.messages == ["READY=1", "STATUS=2/3 cameras streaming, 1 in backoff", "WATCHDOG=1", "STOPPING=1"])
    }

    @Test("without $NOTIFY_SOCKET nothing is sent and nothing fails")
    func disabled() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(notifier.watchdogInterval == nil)
        notifier.ready()
    }

    @Test("a released NotifySocket closes its socket (its reader thread holds no reference to it)")
    func notifySocketReleased() async throws {
        let directory = try TemporaryDirectory()
        var socket: NotifySocket? = try NotifySocket(directory: directory)
        let path = try #require(socket?.path)
        /// Whether a socket bound to `path` is still open in this process (/proc/net/unix keeps the
        /// name of a bound socket until its last descriptor closes, even after the file is removed).
        func isOpen() throws -> Bool {
            // Read to the end: procfs files report no size, and a single read may stop at a page.
            let table = try #require(FileHandle(forReadingAtPath: "/proc/self/net/unix")).readToEnd() ?? Data()
            return String(decoding: table, as: UTF8.self).split(separator: "\n").contains { $0.hasSuffix(" " + path) }
        }
        let openWhileHeld = try withExtendedLifetime(socket) { try isOpen() }
        #expect(openWhileHeld)
        socket = nil
        #expect(try await eventually(within: 2) { try !isOpen() }, "the socket's descriptor stayed open")
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
