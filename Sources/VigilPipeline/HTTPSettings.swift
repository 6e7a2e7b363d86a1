import VigilDetector

/// The HTTP surface (`http:` in the config, `vigil run --http ADDR:PORT`): off unless `listen` is set.
public struct HTTPSettings: Sendable, Equatable, Codable {
    /// `ADDR:PORT` to listen on (`127.0.0.1:8080`, `[::1]:8080`, `0.0.0.0:8080`); nil: no HTTP server.
    public var listen: String?
    /// A file holding the bearer token (systemd's `LoadCredential=` works). Required to listen beyond loopback.
    public var tokenFile: String?
    /// Most connections served at once; further clients wait in the listen backlog.
    public var maxConnections = 128
    /// Seconds a client has to send a request's headers (and an idle keep-alive connection is kept).
    public var headerTimeout = 10.0

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, tokenFile = "token_file", maxConnections = "max_connections", headerTimeout = "header_timeout"
    }

    public static var keys: [String] { CodingKeys.allCases.map(\.rawValue) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        listen = try container.decodeIfPresent(String.self, forKey: .listen)
        tokenFile = try container.decodeIfPresent(String.self, forKey: .tokenFile)
        maxConnections = try container.decodeIfPresent(Int.self, forKey: .maxConnections) ?? maxConnections
        headerTimeout = try container.decodeIfPresent(Double.self, forKey: .headerTimeout) ?? headerTimeout
    }

    /// The first problem with these settings, as one line naming the key, or nil.
    public var problem: String? {
        if let listen, case .failure(let problem) = Self.endpoint(listen) { return "listen: \(problem.description)" }
        if let tokenFile, tokenFile.isEmpty { return "token_file must be a file path" }
        return Bounds.problem("max_connections", maxConnections, 1...10_000)
            ?? Bounds.problem("header_timeout", headerTimeout, 0.5...300, unit: "seconds")
    }

    /// Where to listen: a host (name or address, without brackets) and a port.
    public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int

        /// Whether only this machine can connect (127.0.0.0/8, ::1, localhost).
        public var isLoopback: Bool {
            host == "localhost" || host == "::1" || host.hasPrefix("127.")
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// Why an `ADDR:PORT` cannot be used.
    public struct EndpointProblem: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Parses `ADDR:PORT` (`[v6]:PORT` for IPv6); port 0 picks a free port.
    public static func endpoint(_ text: String) -> Result<Endpoint, EndpointProblem> {
        let usage = "use ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080"
        var host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[close...].hasPrefix("]:") else {
                return .failure(EndpointProblem(description: "'\(text)' is not ADDR:PORT; \(usage)"))
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                return .failure(EndpointProblem(description: "'\(text)' has no port; \(usage)"))
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:".contains($0) }) else {
            return .failure(EndpointProblem(description: "'\(text)' has no valid address; \(usage)"))
        }
        guard let port = Int(portText), (0...65_535).contains(port) else {
            return .failure(EndpointProblem(description: "port must be 0...65535 (got '\(portText)'); \(usage)"))
        }
        return .success(Endpoint(host: String(host), port: port))
    }
}
