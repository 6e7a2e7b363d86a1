import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import VigilPipeline
import VigilSQLite
import VigilStore

/// What the HTTP surface reads from the daemon. It only reads: serving never writes to the board,
/// the registry or the queue.
public struct HTTPSources: Sendable {
    /// Each camera's state.
    public var board: CameraStatusBoard
    /// The cameras' records (the public register and each camera's public fields): the SQLite
    /// registry, or the cluster's in fleet mode.
    public var registry: any CameraStore
    /// The committed alerts.
    public var queue: AlertQueue
    /// The alert log (JSON Lines), for alert history.
    public var alertLog: URL
    /// Where event snapshots are kept; nil when snapshots are off.
    public var snapshots: SnapshotStore?
    /// Why the daemon is not ready (one line), or nil when store and queue are open and the reporter progresses.
    public var notReady: @Sendable () -> String?

    public init(board: CameraStatusBoard, registry: any CameraStore, queue: AlertQueue, alertLog: URL,
                snapshots: SnapshotStore?, notReady: @escaping @Sendable () -> String?) {
        self.board = board
        self.registry = registry
        self.queue = queue
        self.alertLog = alertLog
        self.snapshots = snapshots
        self.notReady = notReady
    }
}

/// How the server listens and whom it serves.
public struct HTTPServerConfiguration: Sendable {
    public var endpoint: HTTPSettings.Endpoint
    /// The bearer token every request but health and the public register must carry; nil on loopback only.
    public var token: String?
    public var maxConnections: Int
    public var headerTimeout: Duration
    /// Most bytes of request headers (and of one header line).
    public var maxHeaderBytes = 16 * 1024

    /// Checks that the server may listen there: beyond loopback only with a token.
    public init(endpoint: HTTPSettings.Endpoint, token: String?, maxConnections: Int = 128,
                headerTimeout: Duration = .seconds(10)) throws(HTTPConfigurationError) {
        guard endpoint.isLoopback || token != nil else {
            throw HTTPConfigurationError(description: "http: refusing to listen on \(endpoint) without a token: "
                                         + "set http.token_file, or listen on 127.0.0.1")
        }
        self.endpoint = endpoint
        self.token = token
        self.maxConnections = maxConnections
        self.headerTimeout = headerTimeout
    }

    /// Reads the token from `path`: its first line, at least 16 characters.
    public static func readToken(path: String) throws(HTTPConfigurationError) -> String {
        let text: String
        do {
            text = try TextFile.read(path: path, what: "http token file")
        } catch {
            throw HTTPConfigurationError(description: error.description)
        }
        let token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard token.count >= 16, token.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw HTTPConfigurationError(description: "http token file \(path) must hold a token of at least 16 "
                                         + "printable characters without spaces (e.g. from `openssl rand -hex 32`)")
        }
        return token
    }
}

/// A server setting that cannot be used; `description` says which and what to do.
public struct HTTPConfigurationError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// The HTTP surface as a Service of the daemon's ServiceGroup. Requests are served on SwiftNIO's
/// event loop threads and the cooperative pool, never on a camera's thread; graceful shutdown stops
/// accepting, ends the alert streams and lets requests in flight finish.
public struct HTTPServer: Service {
    public let configuration: HTTPServerConfiguration
    private let sources: HTTPSources
    private let feed: AlertFeed
    private let logger: Logger
    private let onListening: @Sendable (Int) -> Void

    /// `onListening` gets the port once the server listens (the one picked when the endpoint's port is 0).
    public init(configuration: HTTPServerConfiguration, sources: HTTPSources, logger: Logger,
                onListening: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.configuration = configuration
        self.sources = sources
        self.logger = logger
        self.onListening = onListening
        feed = AlertFeed(queue: sources.queue, logger: logger)
    }

    public func run() async throws {
        let router = Router()
        router.middlewares.add(JSONErrorMiddleware(logger: logger))
        let sessions = configuration.token.map { Sessions(token: $0) }
        router.middlewares.add(AccessMiddleware(token: configuration.token, sessions: sessions))
        let routes = Routes(sources: sources, feed: feed, token: configuration.token, sessions: sessions, logger: logger)
        routes.add(to: router)
        let headerTimeout = TimeAmount.nanoseconds(Int64(configuration.headerTimeout.components.seconds) * 1_000_000_000
                                                   + configuration.headerTimeout.components.attoseconds / 1_000_000_000)
        var channel = HTTP1Channel.Configuration(
            additionalChannelHandlers: [HeaderDeadlineHandler(timeout: headerTimeout)], idleTimeout: nil)
        channel.httpDecoder = .init(maxHeaderFieldSize: configuration.maxHeaderBytes,
                                    maxHeaderListSize: configuration.maxHeaderBytes, maxHeaderFieldCount: 100)
        let onListening = self.onListening
        let host = configuration.endpoint.host
        let app = Application(
            router: router, server: .http1(configuration: channel),
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: configuration.endpoint.port), serverName: "vigil",
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await cancelWhenGracefulShutdown { await feed.follow() } }
            group.addTask { try await app.runService() }
        }
    }
}
