import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Turns every error into `{"error": "..."}` with its status: the message of an `HTTPError`, or
/// "internal error" for anything else (logged here, never shown: no path, type or stack in a response).
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound ? "no such resource; see /api/v1 in docs/http.md"
                                                                    : error.status.reasonPhrase.lowercased())
            return .json(["error": message], status: error.status, headers: error.headers)
        } catch {
            logger.error("http: \(request.method) \(request.uri.path) failed: \(error)")
            return .json(["error": "internal error"], status: .internalServerError)
        }
    }
}

/// With a token set, every request but the public paths must carry `Authorization: Bearer <token>`
/// or the cookie of a login session (``Sessions``); the token comparison takes the same time whatever
/// the given token holds. A browser asking for the status page without either is sent to `/login`.
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]?
    let sessions: Sessions?

    init(token: String?, sessions: Sessions?) {
        self.token = token.map { Array($0.utf8) }
        self.sessions = sessions
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token, let sessions, !PublicPaths.all.contains(request.uri.path) else { return try await next(request, context) }
        let cookie = request.cookies[Sessions.cookieName]
        let message: String
        if let header = request.headers[.authorization] {
            let prefix = "Bearer "
            if header.hasPrefix(prefix), Self.constantTimeEqual(Array(header.utf8.dropFirst(prefix.utf8.count)), token) {
                return try await next(request, context)
            }
            message = "the bearer token is not valid"
        } else if let cookie {
            if sessions.isValid(cookie.value[...]) { return try await next(request, context) }
            message = "the login session is not valid or has ended; log in again at /login"
        } else {
            if request.uri.path == "/" {
                return Response(status: .seeOther, headers: [.location: "/login", .cacheControl: "no-store"])
            }
            message = "this needs an Authorization: Bearer token, or a login at /login"
        }
        throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer realm=\"vigil\""], message: message)
    }

    /// Whether `given` equals `expected`, in a time that depends only on `expected`'s length.
    static func constantTimeEqual(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in expected.indices {
            difference |= expected[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0
    }
}

/// Paths anyone may read: health for the monitoring, the register for the public, the login form.
enum PublicPaths {
    static let all: Set<String> = ["/healthz", "/readyz", "/register", "/register.json", "/register.csv", "/register.geojson",
                                   "/login", "/logout"]
}

extension Response {
    /// A JSON response of an encodable value.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":"internal error"}"#.utf8)
        return body(data, type: "application/json", status: status, headers: headers)
    }

    /// A response of `data` typed `type`.
    static func body(_ data: some Sequence<UInt8>, type: String, status: HTTPResponse.Status = .ok,
                     headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = type
        fields[.cacheControl] = "no-store"
        fields[.xContentTypeOptions] = "nosniff"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Closes a connection whose client does not finish sending a request's headers within `timeout`
/// (slowloris), counted from the connection's start or the end of the previous response; an idle
/// keep-alive connection ends the same way. A response being streamed (the alert stream) is not cut.
final class HeaderDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context) }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }
}
