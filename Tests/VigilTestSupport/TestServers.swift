import Foundation
import VigilTesting

extension TestProcess {
    /// Starts `scripts/<script>` with Debian's python3 and waits for the `READY <port>` line it
    /// prints once it listens on 127.0.0.1; returns the process and the port.
    static func script(_ script: String, arguments: [String], readyTimeout: Double = 20) throws
        -> (process: TestProcess, port: Int)
    {
        let process = try TestProcess("/usr/bin/python3",
                                      ["-u", Fixtures.projectRoot.appendingPathComponent("scripts/\(script)").path]
                                          + arguments)
        let ready = try process.nextLine(prefix: "READY ", timeout: readyTimeout)
        guard let port = Int(ready.dropFirst("READY ".count)) else { throw SupportError("bad READY line: \(ready)") }
        return (process, port)
    }

    /// Sends one command line to a script and waits for its `OK <command>` answer; returns the answer.
    @discardableResult
    func command(_ command: String, timeout: Double = 5) throws -> String {
        write(Data((command + "\n").utf8))
        return try nextLine(prefix: "OK \(command)", timeout: timeout)
    }
}

/// The project's RTSP server (`scripts/rtsp_server.py`): fixtures looped in real time on 127.0.0.1.
public final class RTSPTestServer: @unchecked Sendable {
    public let media: [String: String]
    public let auth: (method: String, user: String, password: String)?
    private var process: TestProcess?
    private let passwordFile: TemporaryFile?
    private let announcesLoops: Bool
    private var loops: [Double] = []
    public private(set) var port = 0

    /// Serves each `path: fixture file` pair at `rtsp://127.0.0.1:PORT/path`. With `announceLoops`,
    /// `loopStarts()` tells when each iteration of a file began.
    public init(media: [String: String], auth: (method: String, user: String, password: String)? = nil,
                port: Int = 0, announceLoops: Bool = false) throws {
        self.media = media
        self.auth = auth
        self.announcesLoops = announceLoops
        if let auth {
            let file = try TemporaryFile()
            try Data(auth.password.utf8).write(to: file.url)
            passwordFile = file
        } else {
            passwordFile = nil
        }
        try start(port: port)
    }

    /// Starts (or restarts after `kill()`) the server; by default on the port it had.
    public func start(port requested: Int? = nil) throws {
        var arguments = ["--port", String(requested ?? port)]
        for (path, file) in media.sorted(by: { $0.key < $1.key }) {
            arguments += ["--media", "\(path)=\(file.hasPrefix("/") ? file : Fixtures.path(file))"]
        }
        if let auth, let passwordFile {
            arguments += ["--auth", auth.method, "--user", auth.user, "--password-file", passwordFile.url.path]
        }
        if announcesLoops { arguments.append("--announce-loops") }
        let started = try TestProcess.script("rtsp_server.py", arguments: arguments)
        process = started.process
        port = started.port
    }

    /// `rtsp://[user:password@]127.0.0.1:PORT/path`, credentials percent-encoded.
    public func url(_ path: String, user: String? = nil, password: String? = nil, port: Int? = nil) -> String {
        var userinfo = ""
        if let user {
            let allowed = CharacterSet.alphanumerics
            userinfo = user.addingPercentEncoding(withAllowedCharacters: allowed)!
            if let password { userinfo += ":" + password.addingPercentEncoding(withAllowedCharacters: allowed)! }
            userinfo += "@"
        }
        return "rtsp://\(userinfo)127.0.0.1:\(port ?? self.port)/\(path)"
    }

    public func kill() {
        process?.kill()
        process = nil
    }

    /// Wall-clock times (seconds since 1970) at which the server sent the first frame of each
    /// iteration of its file, so far (needs `announceLoops`; with one media path).
    public func loopStarts() -> [Double] {
        while let line = try? process?.nextLine(prefix: "LOOP ", timeout: 0) {
            if let time = line.split(separator: " ").last.flatMap({ Double($0) }) { loops.append(time) }
        }
        return loops
    }
}

/// The fault-injecting TCP proxy (`scripts/tcp_proxy.py`).
public final class TCPFaultProxy: @unchecked Sendable {
    private let process: TestProcess
    public let port: Int

    public init(target port: Int) throws {
        (process, self.port) = try TestProcess.script("tcp_proxy.py", arguments: ["--listen-port", "0",
                                                                                  "--target", "127.0.0.1:\(port)"])
    }

    /// Keeps connections open but forwards nothing (a camera that hangs).
    public func stall() throws { try process.command("stall") }
    /// Forwards normally again.
    public func pass() throws { try process.command("pass") }
    /// Aborts every connection with RST.
    public func reset() throws { try process.command("reset") }
    /// Accepts connections but never connects or answers them.
    public func blackhole() throws { try process.command("blackhole") }
    /// Closes the listening socket (connections are refused until `pass()`).
    public func refuse() throws { try process.command("refuse") }
    /// The link goes down: new connections are refused, current ones forward nothing until `pass()`.
    public func cut() throws { try process.command("cut") }
    /// Shapes every connection to `bytesPerSecond` (0: no limit), holding what waits (a deep buffer).
    public func limitRate(bytesPerSecond: Int) throws { try process.command("rate \(bytesPerSecond)") }
    /// Forwards each chunk `seconds` after it was read (0: at once).
    public func delay(seconds: Double) throws { try process.command("delay \(seconds)") }

    /// Connections accepted so far.
    public func connectionCount() throws -> Int {
        let answer = try process.command("count")
        guard let count = Int(answer.split(separator: " ").last ?? "") else {
            throw SupportError("bad count answer: \(answer)")
        }
        return count
    }
}

/// A misbehaving RTSP server (`scripts/hostile_rtsp_server.py`): one that redirects to itself for
/// ever, or announces a huge SDP.
public final class HostileRTSPServer: @unchecked Sendable {
    private let process: TestProcess
    public let port: Int

    /// `mode` is `redirect` or `huge-sdp`.
    public init(mode: String) throws {
        (process, port) = try TestProcess.script("hostile_rtsp_server.py", arguments: ["--mode", mode])
    }

    /// `rtsp://127.0.0.1:PORT/cam`.
    public var url: String { "rtsp://127.0.0.1:\(port)/cam" }

    /// Connections accepted, bytes of SDP sent and connections ended so far.
    public func counts() throws -> (connections: Int, sdpBytes: Int, closed: Int) {
        let fields = try process.command("count").split(separator: " ").compactMap { Int($0) }
        guard fields.count == 3 else { throw SupportError("bad count answer") }
        return (fields[0], fields[1], fields[2])
    }
}

/// The project's webhook receiver (`scripts/webhook_server.py`): answers 503 to the first
/// `failFirst` requests, 200 after, and records every request.
public final class WebhookTestServer: @unchecked Sendable {
    /// One request as the server saw it.
    public struct Request: Decodable, Sendable {
        public let n: Int
        /// When it arrived, in seconds since 1970 (the server's clock, which is this machine's).
        public let t: Double
        /// `POST`, or `GET` when a client followed a 302.
        public let method: String
        public let path: String
        /// The `Idempotency-Key` header.
        public let key: String?
        public let status: Int
        public let body: String
    }

    private let process: TestProcess
    private let record: TemporaryFile
    public let port: Int

    /// `arguments` are more options of the script (`--redirect STATUS:LOCATION`, `--trickle N`).
    public init(failFirst: Int, arguments: [String] = []) throws {
        record = try TemporaryFile()
        (process, port) = try TestProcess.script("webhook_server.py", arguments: [
            "--record", record.url.path, "--fail-first", String(failFirst),
        ] + arguments)
    }

    /// `http://127.0.0.1:PORT/<path>`.
    public func url(path: String = "hook") -> String {
        "http://127.0.0.1:\(port)/\(path)"
    }

    /// Every request received so far, in arrival order.
    public func requests() throws -> [Request] {
        try String(contentsOf: record.url, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Request.self, from: Data($0.utf8))
        }
    }

    public func kill() {
        process.kill()
    }
}
