import Foundation
import Testing
import VigilTestSupport
import VigilTesting

/// One HTTP exchange as the bytes went over the wire.
struct HTTPReply: CustomStringConvertible {
    var status = 0
    var headers: [String: String] = [:]
    var body = Data()
    /// Everything received, status line and headers included.
    var raw = Data()

    var text: String { String(decoding: body, as: UTF8.self) }
    var description: String { String(decoding: raw.prefix(600), as: UTF8.self) }

    /// The body as a JSON object.
    func json() throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: body) as? [String: Any], "not a JSON object: \(self)")
    }
}

/// A plain TCP client on 127.0.0.1: sends exactly the bytes given (no normalisation of paths, any
/// header), so hostile requests reach the server as written.
final class RawConnection {
    let descriptor: Int32
    /// How long ``receive(until:)`` reads at most.
    let timeout: Double

    init(port: Int, timeout: Double = 10) throws {
        self.timeout = timeout
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SupportError("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw SupportError("connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    /// Sends `bytes`; false when the server closed the connection.
    @discardableResult
    func send(_ bytes: some Collection<UInt8>) -> Bool {
        let data = Array(bytes)
        var sent = 0
        while sent < data.count {
            let count = data.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + sent, data.count - sent, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }

    /// Reads what arrives until `done` holds for it, the server closes, or the timeout passed.
    func receive(until done: (Data) -> Bool = { _ in false }) -> Data {
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let end = Date().addingTimeInterval(timeout)
        while !done(received) && Date() < end {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received.append(contentsOf: buffer[0..<count])
        }
        return received
    }

    /// Whether the server closed the connection (a read returns 0 or a reset) within the receive timeout.
    func closedByServer() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }
}

enum HTTP {
    /// `GET path` with `Connection: close` and extra header lines; the whole reply.
    static func get(_ port: Int, _ path: String, headers: [String] = [], timeout: Double = 10) throws -> HTTPReply {
        try exchange(port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     + headers.map { $0 + "\r\n" }.joined() + "\r\n", timeout: timeout)
    }

    /// Sends `request` as is and parses the reply read until the server closes.
    static func exchange(_ port: Int, _ request: String, timeout: Double = 10) throws -> HTTPReply {
        let connection = try RawConnection(port: port, timeout: timeout)
        connection.send(Array(request.utf8))
        return parse(connection.receive())
    }

    static func parse(_ raw: Data) -> HTTPReply {
        var reply = HTTPReply(raw: raw)
        guard let end = raw.range(of: Data("\r\n\r\n".utf8)) else { return reply }
        let head = String(decoding: raw[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        reply.status = Int(head.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            reply.headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Data(raw[end.upperBound...])
        if reply.headers["transfer-encoding"] == "chunked" { body = dechunk(body) }
        reply.body = body
        return reply
    }

    static func dechunk(_ data: Data) -> Data {
        var out = Data(), rest = data[...]
        while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
            guard let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self), radix: 16), size > 0,
                  rest.distance(from: lineEnd.upperBound, to: rest.endIndex) >= size else { break }
            let start = lineEnd.upperBound
            out.append(rest[start..<rest.index(start, offsetBy: size)])
            rest = rest[rest.index(start, offsetBy: min(size + 2, rest.distance(from: start, to: rest.endIndex)))...]
        }
        return out
    }
}

/// A state directory with cameras (a public one on the project's RTSP server, a private one whose URL
/// carries a password) and `vigil run` serving HTTP on an ephemeral port of 127.0.0.1.
final class HTTPDaemonFixture {
    static let password = "s3cret:p@ss/word"
    let state: TemporaryDirectory
    let files: TemporaryDirectory
    let server: RTSPTestServer
    var daemon: DaemonProcess!
    private(set) var port = 0

    /// `http` is the config's http section (YAML lines, indented by two spaces); `listen` is added.
    init(http: [String] = [], media: String = "one_crossing.mp4") throws {
        state = try TemporaryDirectory()
        files = try TemporaryDirectory()
        server = try RTSPTestServer(media: ["street": media, "yard": "quiet_street.mp4"])
        try vigil(["camera", "add", "street-1", "--url", server.url("street"), "--name", "Street one", "--lat=50.8467",
                   "--lon=4.3525", "--municipality", "Brussel", "--operator", "Stad Brussel", "--purpose", "public order",
                   "--public"])
        try vigil(["camera", "add", "depot-yard", "--url", server.url("yard", user: "operator", password: Self.password),
                   "--name", "Depot yard", "--lat=50.85", "--lon=4.36", "--municipality", "Brussel", "--operator",
                   "Stad Brussel", "--purpose", "property protection", "--private"])
    }

    @discardableResult
    func vigil(_ arguments: [String]) throws -> ProcessOutput {
        let output = try runVigil(arguments + ["--state-dir", state.path])
        guard output.status == 0 else { throw SupportError("vigil \(arguments.joined(separator: " ")): \(output.stderrText)") }
        return output
    }

    func file(_ name: String, _ contents: String) throws -> String {
        let url = files.url.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Starts the daemon with `http.listen: 127.0.0.1:0` plus `http` lines and other top-level `config`
    /// lines, and waits for its port.
    func start(http: [String] = [], config more: [String] = []) throws {
        let config = try file("vigil.yaml", (["http:", "  listen: 127.0.0.1:0"] + http.map { "  " + $0 } + more)
            .joined(separator: "\n") + "\n")
        daemon = try DaemonProcess(state: state.path, config: config)
        let prefix = "http: serving on http://127.0.0.1:"
        _ = wait(30) { daemon.log.contains(prefix) || !daemon.isRunning }
        guard let line = daemon.log.components(separatedBy: "\n").first(where: { $0.contains(prefix) }),
              let port = Int(line.components(separatedBy: prefix)[1].prefix { $0.isNumber }) else {
            throw SupportError("the daemon did not serve HTTP: \(daemon.log)")
        }
        self.port = port
    }

    func get(_ path: String, headers: [String] = []) throws -> HTTPReply {
        try HTTP.get(port, path, headers: headers)
    }

    /// Polls `condition` every 100 ms for up to `timeout` seconds.
    func wait(_ timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return try condition()
    }
}
