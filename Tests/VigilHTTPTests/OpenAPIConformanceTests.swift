import Foundation
import Testing
import VigilTestSupport
import VigilTesting
import Yams

/// Checks a real server against docs/openapi.yaml: every documented path answers, with a documented
/// status and content type, and JSON bodies carry their schema's required fields (nested through
/// `$ref`, arrays and objects).
@Suite("the server answers as docs/openapi.yaml says", .serialized)
struct OpenAPIConformanceTests {
    @Test("every path and status the server gives is documented, JSON bodies have the required fields")
    func conformance() async throws {
        let text = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        let fixture = try HTTPDaemonFixture()
        let token = "conformance-token-0123456789"
        try fixture.start(http: ["token_file: \(try fixture.file("token", token))"])
        _ = fixture.wait(60) { !fixture.daemon.alerts(kind: "motion_started").isEmpty }
        let alerts = fixture.daemon.alerts()
        let snapshotAlert = alerts.first { $0["snapshot"] != nil }
        let auth = ["Authorization: Bearer \(token)"]

        // Requests per documented path: good ones and bad ones.
        var requests: [(template: String, path: String, headers: [String])] = []
        for template in paths.keys.sorted() where (paths[template] as? [String: Any])?["get"] != nil {
            var path = template.replacingOccurrences(of: "{id}", with: "street-1")
                .replacingOccurrences(of: "{camera}", with: snapshotAlert?["camera"] as? String ?? "street-1")
                .replacingOccurrences(of: "{event}", with: snapshotAlert?["event"] as? String ?? "none")
            if template == "/api/v1/alerts/stream" { path += "?last_event_id=00000000000000000000000000" }
            requests.append((template, path, auth))
            requests.append((template, path, []))
        }
        requests += [("/api/v1/cameras/{id}", "/api/v1/cameras/nowhere", auth),
                     ("/api/v1/alerts", "/api/v1/alerts?limit=0", auth),
                     ("/api/v1/alerts", "/api/v1/alerts?since=\(alerts.first?["id"] as? String ?? "")&kind=motion_started", auth),
                     ("/api/v1/snapshots/{camera}/{event}.jpg", "/api/v1/snapshots/street-1/01JDQ3V5K8M2X7R4T9B6C1N0PZ.jpg", auth),
                     ("/api/v1/snapshots/{camera}/{event}.jpg", "/api/v1/snapshots/street-1/a.b.jpg", auth)]
        var seen: Set<String> = []
        // Login, a request with its session and logout: each answer must be documented for its method.
        let login = try LoginTests.post(fixture.port, "/login", body: "token=\(token)")
        let session = login.headers["set-cookie"]?.split(separator: ";").first.map { "Cookie: \($0)" } ?? ""
        let posts = [("/login", login), ("/login", try LoginTests.post(fixture.port, "/login", body: "token=wrong")),
                     ("/login", try LoginTests.post(fixture.port, "/login", body: String(repeating: "a", count: 5000))),
                     ("/api/v1/cameras", try fixture.get("/api/v1/cameras", headers: [session])),
                     ("/logout", try LoginTests.post(fixture.port, "/logout", body: "", headers: [session]))]
        for (template, reply) in posts {
            let method = template == "/api/v1/cameras" ? "get" : "post"
            let operation = try #require((paths[template] as? [String: Any])?[method] as? [String: Any])
            let documented = (operation["responses"] as? [String: Any])?[String(reply.status)]
            #expect(documented != nil, "\(method) \(template) answered \(reply.status), not documented: \(reply)")
            seen.insert("\(method.uppercased()) \(template) \(reply.status)")
        }
        for (template, path, headers) in requests {
            let reply: HTTPReply
            if template == "/api/v1/alerts/stream" {
                let connection = try RawConnection(port: fixture.port, timeout: 2)
                connection.send(Array("GET \(path) HTTP/1.1\r\nHost: x\r\n\(headers.map { $0 + "\r\n" }.joined())\r\n".utf8))
                reply = HTTP.parse(connection.receive { $0.range(of: Data("\nid: ".utf8)) != nil || $0.count > 2000 })
            } else {
                reply = try fixture.get(path, headers: headers)
            }
            let operation = try #require((paths[template] as? [String: Any])?["get"] as? [String: Any])
            let responses = try #require(operation["responses"] as? [String: Any])
            guard let documented = responses[String(reply.status)] else {
                Issue.record("\(path) answered \(reply.status), not documented: \(reply)")
                continue
            }
            seen.insert("\(template) \(reply.status)")
            let response = try resolve(documented, in: document)
            guard let content = response["content"] as? [String: Any] else {
                #expect(reply.body.isEmpty, "\(template) \(reply.status) is documented without a body")
                continue
            }
            let type = reply.headers["content-type"]?.split(separator: ";").first.map(String.init) ?? ""
            guard let media = content[type] as? [String: Any] else {
                Issue.record("\(path) \(reply.status) answered \(type), documented: \(content.keys.sorted())")
                continue
            }
            if type.hasSuffix("json"), let schema = media["schema"] {
                let body = try JSONSerialization.jsonObject(with: reply.body)
                check(body, against: schema, in: document, at: "\(path) \(reply.status)")
            }
        }
        // The ones that must have been exercised.
        for expected in ["/api/v1/cameras 200", "/api/v1/cameras 401", "/api/v1/cameras/{id} 404", "/api/v1/alerts 400",
                         "/api/v1/alerts 200", "/register.json 200", "/healthz 200", "/readyz 200", "/metrics 200",
                         "/api/v1/alerts/stream 200", "/api/v1/snapshots/{camera}/{event}.jpg 400",
                         "/api/v1/snapshots/{camera}/{event}.jpg 404", "/ 303", "/login 200", "POST /login 303", "POST /login 401",
                         "POST /login 413", "GET /api/v1/cameras 200", "POST /logout 303"] {
            #expect(seen.contains(expected), "not exercised: \(expected)")
        }
        if snapshotAlert != nil { #expect(seen.contains("/api/v1/snapshots/{camera}/{event}.jpg 200")) }
        #expect(await fixture.daemon.terminate()?.status == 0)
    }

    /// Follows a `$ref` (`#/components/...`).
    private func resolve(_ node: Any, in document: [String: Any]) throws -> [String: Any] {
        let object = try #require(node as? [String: Any])
        guard let reference = object["$ref"] as? String else { return object }
        var current: Any = document
        for part in reference.dropFirst(2).split(separator: "/") {
            current = try #require((current as? [String: Any])?[String(part)], "unresolved \(reference)")
        }
        return try resolve(current, in: document)
    }

    private func check(_ value: Any, against schemaNode: Any, in document: [String: Any], at place: String) {
        guard let schema = try? resolve(schemaNode, in: document) else {
            Issue.record("\(place): unreadable schema")
            return
        }
        switch schema["type"] as? String {
        case "object":
            guard let object = value as? [String: Any] else {
                Issue.record("\(place): not an object")
                return
            }
            for key in schema["required"] as? [String] ?? [] where object[key] == nil || object[key] is NSNull {
                Issue.record("\(place): required field '\(key)' missing")
            }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (key, child) in object where !(child is NSNull) {
                if let property = properties[key] { check(child, against: property, in: document, at: "\(place).\(key)") }
            }
            if let enumeration = (properties["state"] as? [String: Any])?["enum"] as? [String], let state = object["state"] as? String {
                #expect(enumeration.contains(state), "\(place): state \(state) not documented")
            }
        case "array":
            guard let array = value as? [Any] else {
                Issue.record("\(place): not an array")
                return
            }
            if let items = schema["items"] {
                for (index, item) in array.enumerated() { check(item, against: items, in: document, at: "\(place)[\(index)]") }
            }
        case "string":
            if !(value is String) { Issue.record("\(place): not a string") }
        case "integer", "number":
            if !(value is NSNumber) { Issue.record("\(place): not a number") }
        case "boolean":
            if !(value is NSNumber) { Issue.record("\(place): not a boolean") }
        default:
            break
        }
    }
}
