import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import VigilPipeline
import VigilSQLite
import VigilStore

/// Every endpoint of the HTTP surface (docs/http.md, docs/openapi.yaml).
struct Routes: Sendable {
    let sources: HTTPSources
    let feed: AlertFeed
    let metrics: MetricsExporter
    /// The bearer token and the login sessions made from it; nil when the server has no token.
    let token: String?
    let sessions: Sessions?
    let logger: Logger

    init(sources: HTTPSources, feed: AlertFeed, token: String?, sessions: Sessions?, logger: Logger) {
        self.sources = sources
        self.feed = feed
        self.token = token
        self.sessions = sessions
        self.logger = logger
        metrics = MetricsExporter(sources: sources)
    }

    func add(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in Response.body(Array("ok\n".utf8), type: "text/plain; charset=utf-8") }
        router.get("/readyz") { _, _ in
            if let reason = sources.notReady() {
                return Response.body(Array("not ready: \(reason)\n".utf8), type: "text/plain; charset=utf-8",
                                     status: .serviceUnavailable)
            }
            return Response.body(Array("ready\n".utf8), type: "text/plain; charset=utf-8")
        }
        router.get("/register") { _, _ in
            Response.body(Array(Pages.register(try await publicRegister()).utf8), type: "text/html; charset=utf-8")
        }
        for (format, type) in [(PublicRegister.Format.json, "application/json"), (.csv, "text/csv; charset=utf-8"),
                               (.geojson, "application/geo+json")] {
            router.get("/register.\(format.rawValue)") { _, _ in
                Response.body(try await publicRegister().render(format), type: type)
            }
        }
        router.get("/metrics") { _, _ in
            Response.body(metrics.exposition(), type: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/api/v1/cameras") { _, _ in Response.json(["cameras": try await cameraViews()]) }
        router.get("/api/v1/cameras/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let camera = try await cameraViews().first(where: { $0.id == id }) else {
                throw HTTPError(.notFound, message: "no camera with this id in the registry")
            }
            return Response.json(camera)
        }
        router.get("/api/v1/alerts") { request, _ in try alerts(request) }
        router.get("/api/v1/alerts/stream") { request, _ in try stream(request) }
        router.get("/api/v1/snapshots/:camera/:file") { _, context in
            try snapshot(camera: context.parameters.require("camera"), file: context.parameters.require("file"))
        }
        router.get("/") { _, _ in
            Response.body(Array(Pages.status(cameras: try await cameraViews(), kinds: AlertKind.known.map(\.rawValue),
                                             canLogOut: sessions != nil).utf8),
                          type: "text/html; charset=utf-8")
        }
        router.get("/login") { _, _ in
            guard sessions != nil else { return Self.redirect(to: "/") }
            return Response.body(Array(Pages.login(failed: false).utf8), type: "text/html; charset=utf-8")
        }
        router.post("/login") { request, _ in try await login(request) }
        router.post("/logout") { request, _ in
            if let cookie = request.cookies[Sessions.cookieName] { sessions?.close(cookie.value[...]) }
            return Self.redirect(to: "/login", cookie: "")
        }
    }

    // MARK: Login

    /// Most bytes of a login form: a token is far shorter.
    private static let maxLoginBytes = 4096

    /// `POST /login` with `token=...` (a form): the token gives a session cookie and a way to the
    /// status page; anything else the login form again, without echoing what was sent.
    private func login(_ request: Request) async throws -> Response {
        guard let token, let sessions else { throw HTTPError(.notFound, message: "there is no login: this server has no token") }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxLoginBytes)
        } catch {
            throw HTTPError(.contentTooLarge, message: "a login form is at most \(Self.maxLoginBytes) bytes")
        }
        let form = String(buffer: body)
        let given = form.split(separator: "&").lazy.compactMap { pair -> String? in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == "token" else { return nil }
            return parts[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }.first ?? ""
        guard AccessMiddleware<BasicRequestContext>.constantTimeEqual(Array(given.utf8), Array(token.utf8)) else {
            return Response.body(Array(Pages.login(failed: true).utf8), type: "text/html; charset=utf-8", status: .unauthorized)
        }
        return Self.redirect(to: "/", cookie: sessions.open())
    }

    /// A 303 to `location`; with `cookie`, it sets the session cookie to that value (an empty one ends it).
    private static func redirect(to location: String, cookie: String? = nil) -> Response {
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        if let cookie {
            headers[.setCookie] = "\(Sessions.cookieName)=\(cookie); Path=/; Max-Age=\(cookie.isEmpty ? 0 : Sessions.lifetime); "
                + "HttpOnly; SameSite=Strict"
        }
        return Response(status: .seeOther, headers: headers)
    }

    // MARK: Register and cameras

    private func publicRegister() async throws -> PublicRegister {
        PublicRegister(cameras: try await registryCameras())
    }

    /// How long a request waits for the registry: in fleet mode the cluster database's pool would
    /// hold a read for as long as it keeps trying to reconnect (up to a minute) while the server is down.
    static let registryDeadline: Duration = .seconds(5)

    /// The registry's cameras; a registry that cannot be read (its file, or the cluster database in
    /// fleet mode) or does not answer within ``registryDeadline`` is a 503 with a generic message, the
    /// reason goes to the log.
    private func registryCameras() async throws -> [Camera] {
        let registry = sources.registry
        let answer = await withTaskGroup(of: Result<[Camera], RegistryError>?.self) { group in
            group.addTask {
                do throws(RegistryError) { return .success(try await registry.cameras()) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: Self.registryDeadline)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        switch answer {
        case .success(let cameras):
            return cameras
        case .failure(let error):
            logger.error("http: cannot read the registry: \(error.description)")
        case nil:
            logger.error("http: the registry did not answer within \(Self.registryDeadline)")
        }
        throw HTTPError(.serviceUnavailable, message: "the camera registry cannot be read right now")
    }

    /// Every registry camera with its state on the board (`unknown` while the daemon does not watch it yet).
    func cameraViews() async throws -> [CameraView] {
        let cameras = try await registryCameras()
        let snapshot = sources.board.snapshot()
        let statuses = Dictionary(snapshot.cameras.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        let availability = sources.board.availability()
        var snapshots: [String: String] = [:]
        for entry in feed.entries where entry.hasSnapshot {
            if let event = entry.event { snapshots[entry.camera] = "/api/v1/snapshots/\(entry.camera)/\(event).jpg" }
        }
        return cameras.sorted { $0.id < $1.id }.map { camera in
            CameraView(camera: camera, status: statuses[camera.id], availability: availability[camera.id], now: snapshot.taken,
                       latestSnapshot: sources.snapshots == nil ? nil : snapshots[camera.id])
        }
    }

    // MARK: Alerts

    private static let maxLimit = 1_000

    private func filter(_ request: Request) throws -> AlertFilter {
        func values(_ name: String) -> Set<String> {
            Set(request.uri.queryParameters.getAll(name).flatMap { $0.split(separator: ",").map(String.init) })
        }
        let filter = AlertFilter(cameras: values("camera"), kinds: values("kind"))
        let known = Set(AlertKind.known.map(\.rawValue))
        if !filter.kinds.isSubset(of: known) {
            throw HTTPError(.badRequest, message: "unknown kind; kinds: "
                            + AlertKind.known.map(\.rawValue).joined(separator: ", "))
        }
        return filter
    }

    private func alertID(_ text: String?, name: String) throws -> String? {
        guard let text else { return nil }
        guard AlertID.isValid(text) else {
            throw HTTPError(.badRequest, message: "\(name) must be an alert id (26 characters, e.g. 01JDQ3V5K8M2X7R4T9B6C1N0PZ)")
        }
        return text
    }

    /// `GET /api/v1/alerts?since=ID&camera=&kind=&limit=`: the alert log, newest last.
    private func alerts(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        let filter = try filter(request)
        let since = try alertID(query.get("since"), name: "since")
        var limit = 100
        if let text = query.get("limit") {
            guard let value = Int(text), (1...Self.maxLimit).contains(value) else {
                throw HTTPError(.badRequest, message: "limit must be a number in 1...\(Self.maxLimit)")
            }
            limit = value
        }
        var lines = AlertHistory.read(sources.alertLog, after: since, filter: filter, limit: limit)
        // Committed, not yet in the log: the newest ones.
        let logged = Set(lines.map(\.id))
        let newest = lines.last?.id ?? since ?? ""
        for entry in feed.entries where entry.id > newest && !logged.contains(entry.id)
            && filter.matches(camera: entry.camera, kind: entry.kind) {
            lines.append((entry.id, entry.line))
        }
        let body = "{\"alerts\":[" + lines.suffix(limit).map(\.line).joined(separator: ",") + "]}"
        return Response.body(Array(body.utf8), type: "application/json")
    }

    /// `GET /api/v1/alerts/stream`: Server-Sent Events, one per committed alert, its id the alert's id.
    /// With `Last-Event-ID` the stream first sends what came after that alert (from memory, else the log).
    private func stream(_ request: Request) throws -> Response {
        let filter = try filter(request)
        let lastID = try alertID(request.headers[HTTPField.Name("Last-Event-ID")!] ?? request.uri.queryParameters.get("last_event_id"),
                                 name: "Last-Event-ID")
        let feed = self.feed, log = sources.alertLog
        let headers: HTTPFields = [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store",
                                   .xContentTypeOptions: "nosniff"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var position = feed.position
            var skip: (String) -> Bool = { _ in false }
            try await writer.write(ByteBuffer(string: "retry: 2000\n: vigil alert stream\n\n"))
            if let lastID {
                let held = feed.entries
                if let index = held.firstIndex(where: { $0.id == lastID }) {
                    position = held[index].sequence
                } else {
                    // Not in memory: what the log has after it, then what memory has that the log had not.
                    let logged = AlertHistory.read(log, after: lastID, filter: filter, limit: 100_000)
                    for (id, line) in logged { try await writer.write(Self.event(id: id, line: line)) }
                    let sent = Set(logged.map(\.id))
                    position = 0
                    skip = { id in id <= lastID || sent.contains(id) }
                }
            }
            try await withGracefulShutdownHandler {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    let seen = feed.changeCount
                    let entries = feed.entries(after: position)
                    for entry in entries {
                        position = entry.sequence
                        guard !skip(entry.id), filter.matches(camera: entry.camera, kind: entry.kind) else { continue }
                        try await writer.write(Self.event(id: entry.id, line: entry.line))
                    }
                    if entries.isEmpty {
                        await feed.wait(after: seen, timeout: .seconds(15))
                        if feed.changeCount == seen { try await writer.write(ByteBuffer(string: ": keep-alive\n\n")) }
                    }
                }
            } onGracefulShutdown: {
                feed.wakeAll()
            }
            try await writer.finish(nil)
        })
    }

    private static func event(id: String, line: String) -> ByteBuffer {
        ByteBuffer(string: "id: \(id)\ndata: \(line)\n\n")
    }

    // MARK: Snapshots

    /// `GET /api/v1/snapshots/{camera}/{event}.jpg`: names are checked before any file is touched, and
    /// files are opened without following symbolic links.
    private func snapshot(camera: String, file: String) throws -> Response {
        guard Pages.isSafeName(camera), file.hasSuffix(".jpg"), Pages.isSafeName(String(file.dropLast(4))) else {
            throw HTTPError(.badRequest, message: "a snapshot is /api/v1/snapshots/CAMERA/EVENT.jpg with ids of "
                            + "letters, digits, '-' and '_'")
        }
        guard let store = sources.snapshots else { throw HTTPError(.notFound, message: "snapshots are off") }
        let cameraDirectory = store.directory.appendingPathComponent(camera)
        let days = ((try? FileManager.default.contentsOfDirectory(atPath: cameraDirectory.path)) ?? [])
            .filter { Pages.isSafeName($0) }.sorted(by: >)
        for day in days {
            if let data = Self.readRegularFile(cameraDirectory.appendingPathComponent(day).appendingPathComponent(file).path) {
                return Response.body(data, type: "image/jpeg")
            }
        }
        throw HTTPError(.notFound, message: "no such snapshot")
    }

    /// The bytes of a regular file at `path`, never through a symbolic link; nil otherwise.
    private static func readRegularFile(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size < 64 << 20 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + done, $0.count - done) }
            guard count > 0 else { return nil }
            done += count
        }
        return bytes
    }
}
