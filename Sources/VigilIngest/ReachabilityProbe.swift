#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A cheap check that a network camera accepts connections: a TCP connect to the host and port
/// of its RTSP URL, closed at once (no RTSP request, so no credentials are sent).
///
/// A camera worker probes every couple of seconds while it backs off after a network failure, so
/// a camera whose link comes back streams again within seconds instead of waiting out a backoff
/// that grew during the outage.
public struct ReachabilityProbe: Sendable, Equatable {
    public let host: String
    public let port: Int

    /// The probe for an `rtsp://` or `rtsps://` URL (port 554 or 322 unless given); nil for anything
    /// else (a file) or an authority that does not parse.
    public init?(url: String) {
        let defaultPort: Int
        let rest: Substring
        if url.hasPrefix("rtsp://") {
            (defaultPort, rest) = (554, url.dropFirst("rtsp://".count))
        } else if url.hasPrefix("rtsps://") {
            (defaultPort, rest) = (322, url.dropFirst("rtsps://".count))
        } else {
            return nil
        }
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var hostPart = authority
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portPart = after.dropFirst() } else if !after.isEmpty { return nil }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { return nil }
        if let portPart {
            guard let number = Int(portPart), (1...65535).contains(number) else { return nil }
            port = number
        } else {
            port = defaultPort
        }
        host = String(hostPart)
    }

    /// Whether a TCP connection to the camera succeeds within `timeout` seconds.
    public func canConnect(timeout: Double) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let first = found else { return false }
        defer { freeaddrinfo(found) }
        let socketFD = socket(first.pointee.ai_family, first.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue),
                              first.pointee.ai_protocol)
        guard socketFD >= 0 else { return false }
        defer { close(socketFD) }
        _ = fcntl(socketFD, F_SETFL, fcntl(socketFD, F_GETFL) | O_NONBLOCK)
        if connect(socketFD, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var waiting = pollfd(fd: socketFD, events: Int16(POLLOUT), revents: 0)
        guard poll(&waiting, 1, Int32(max(1, timeout * 1000))) == 1 else { return false }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(socketFD, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 && failure == 0
    }
}
