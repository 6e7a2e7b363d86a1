import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import VigilStore

/// The webhook sink's settings: ``HookConfiguration/target`` is the URL, a secret (it often
/// carries a token) that is never printed, logged or stored in a dead letter.
public typealias WebhookConfiguration = HookConfiguration<URL>

/// POSTs each alert's JSON to the webhook with `Idempotency-Key: <alert id>`; a 2xx answer
/// delivers it. One alert per request, in queue order, so each camera's alerts arrive in order.
struct WebhookSink: HookSink {
    let name = "webhook"
    let configuration: WebhookConfiguration
    private let session: URLSession

    init(configuration: WebhookConfiguration) {
        self.configuration = configuration
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.timeoutIntervalForRequest = configuration.timeout
        sessionConfiguration.httpCookieStorage = nil
        sessionConfiguration.urlCache = nil
        session = URLSession(configuration: sessionConfiguration)
    }

    func deliver(_ alerts: [QueuedAlert]) async throws(DeliveryError) {
        for alert in alerts {
            var request = URLRequest(url: configuration.target, timeoutInterval: configuration.timeout)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue(alert.id, forHTTPHeaderField: "Idempotency-Key")
            request.setValue("vigil", forHTTPHeaderField: "User-Agent")
            let response: URLResponse
            do {
                (_, response) = try await session.upload(for: request, from: Data(alert.line.utf8))
            } catch let error as URLError {
                throw DeliveryError(describe(error))
            } catch {
                throw DeliveryError("request failed")
            }
            guard let http = response as? HTTPURLResponse else { throw DeliveryError("no HTTP response") }
            guard (200..<300).contains(http.statusCode) else { throw DeliveryError("HTTP \(http.statusCode)") }
        }
    }

    /// URLSession's own texts name the URL: these do not.
    private func describe(_ error: URLError) -> String {
        switch error.code {
        case .timedOut: "timed out after \(configuration.timeout) s"
        case .cannotConnectToHost: "connection refused"
        case .cannotFindHost, .dnsLookupFailed: "host not found"
        case .networkConnectionLost: "connection lost"
        case .notConnectedToInternet: "no network"
        case .cancelled: "cancelled"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            "TLS handshake failed"
        case .badServerResponse: "bad HTTP response"
        default: "network error \(error.code.rawValue)"
        }
    }
}
