import Foundation
import Synchronization
import Testing
import VigilDaemon
import VigilTestSupport

/// A datagram socket standing in for systemd's notify socket; like systemd it reads every
/// message as it arrives (on a thread of its own) and keeps them in order.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let descriptor: Int32
    private let received = Mutex<[String]>([])
    private let closed = Atomic<Bool>(false)

    init(directory: TemporaryDirectory) throws {
        path = directory.url.appendingPathComponent("notify").path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw SupportError("cannot bind \(path)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !closed.load(ordering: .relaxed) {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                if count > 0 {
                    let message = String(decoding: buffer.prefix(count), as: UTF8.self)
                    received.withLock { $0.append(message) }
                }
            }
        }
    }

    /// Every message so far, in order.
    var messages: [String] { received.withLock { $0 } }

    /// Waits up to `timeout` seconds for a message satisfying `matches`.
    func waitFor(timeout: Double = 5, _ matches: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if messages.contains(where: matches) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return messages.contains(where: matches)
    }

    deinit {
        closed.store(true, ordering: .relaxed)
        Thread.sleep(forTimeInterval: 0.3)
        close(descriptor)
    }
}

@Suite("sd_notify without libsystemd")
struct SystemdNotifierTests {
    @Test("READY, STATUS, WATCHDOG and STOPPING arrive as datagrams on $NOTIFY_SOCKET")
    func messagesArrive() throws {
        let directory = try TemporaryDirectory()
        let socket = try NotifySocket(directory: directory)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "30000000"])
        #expect(notifier.isEnabled)
        #expect(notifier.watchdogInterval == .seconds(30))
        notifier.ready()
        notifier.status("2/3 cameras streaming,\n1 in backoff")
        notifier.watchdog()
        notifier.stopping()
        #expect(socket.waitFor { $0 == "STOPPING=1" })
        #expect(socket.messages == ["READY=1", "STATUS=2/3 cameras streaming, 1 in backoff", "WATCHDOG=1", "STOPPING=1"])
    }

    @Test("without $NOTIFY_SOCKET nothing is sent and nothing fails")
    func disabled() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(notifier.watchdogInterval == nil)
        notifier.ready()
    }
}
