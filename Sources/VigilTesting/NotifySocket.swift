import Foundation
import Synchronization

/// A datagram socket standing in for systemd's notify socket (`$NOTIFY_SOCKET`); like systemd it
/// reads every message as it arrives, on a thread of its own, and keeps them in order.
///
/// The reader thread holds only the descriptor and the message list, never the socket object, so
/// releasing the `NotifySocket` stops the thread, which then closes the descriptor.
public final class NotifySocket: Sendable {
    /// The socket's path, for `NOTIFY_SOCKET`.
    public let path: String
    private let reader: Reader

    /// Binds a socket named `notify` in `directory`.
    public init(directory: TemporaryDirectory) throws {
        let path = directory.url.appendingPathComponent("notify").path
        self.path = path
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            throw SupportError("cannot bind \(path)")
        }
        // The reader wakes every 100 ms to see whether the socket was released.
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let reader = Reader(descriptor: descriptor)
        self.reader = reader
        Thread.detachNewThread { reader.run() }
    }

    /// Every message so far, in order.
    public var messages: [String] { reader.received.withLock { $0 } }

    /// Waits up to `timeout` seconds for a message satisfying `matches`.
    public func waitFor(timeout: Double = 5, _ matches: (String) -> Bool) async -> Bool {
        await eventually(within: timeout) { messages.contains(where: matches) }
    }

    deinit {
        reader.closed.store(true, ordering: .releasing)
        unlink(path)
    }
}

/// The receiving loop of a `NotifySocket`, apart from it so the thread does not keep it alive.
/// The thread closes the descriptor when it sees `closed`.
private final class Reader: Sendable {
    let descriptor: Int32
    let received = Mutex<[String]>([])
    let closed = Atomic<Bool>(false)

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    func run() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !closed.load(ordering: .acquiring) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 {
                let message = String(decoding: buffer.prefix(count), as: UTF8.self)
                received.withLock { $0.append(message) }
            }
        }
        close(descriptor)
    }
}
