import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import VigilStore

/// The webhook sink's settings: ``HookConfiguration/target`` is the URL, a secret (it often
/// carries a token) that is never printed, logged or stored in a dead letter.
public typealias WebhookConfiguration = HookConfiguration<URL>

/// POSTs each alert's JSON to the webhook with `Idempotency-Key: <alert id>`; a 2xx answer
/// delivers it. One alert per request, in queue order, so each camera's alerts arrive in order.
///
/// Redirects are not followed (a 3xx is a failed attempt: following one would drop or re-send the
/// body elsewhere), and `timeout` bounds the whole attempt, not only the silence between bytes.
struct WebhookSink: HookSink {
    let name = "webhook"
    let configuration: WebhookConfiguration
    private let client: WebhookClient

    init(configuration: WebhookConfiguration) {
        self.configuration = configuration
        client = WebhookClient(timeout: configuration.timeout)
    }

    func deliver(_ alerts: [QueuedAlert]) async throws(DeliveryError) {
        for alert in alerts {
            var request = URLRequest(url: configuration.target, timeoutInterval: configuration.timeout)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue(alert.id, forHTTPHeaderField: "Idempotency-Key")
            request.setValue("vigil", forHTTPHeaderField: "User-Agent")
            let status = try await client.post(request, body: Data(alert.line.utf8))
            if (300..<400).contains(status) {
                throw DeliveryError(.httpStatus, "HTTP \(status): a redirect, not followed; give the webhook's final URL")
            }
            guard (200..<300).contains(status) else { throw DeliveryError(.httpStatus, "HTTP \(status)") }
        }
    }
}

/// One URLSession whose delegate refuses redirects and whose requests each have a total deadline.
/// Safe from any thread: the pending requests live behind a mutex.
private final class WebhookClient: NSObject, URLSessionDataDelegate, Sendable {
    private let timeout: TimeInterval
    /// The session keeps its delegate (this object) until the process ends, like the sink.
    private let session = Mutex<URLSession?>(nil)
    private let pending = Mutex<[Int: Pending]>([:])

    /// A request under way: who waits for it, and the redirect status it answered, if any.
    private struct Pending {
        let continuation: CheckedContinuation<Int, any Error>
        var redirectStatus: Int?
        var timedOut = false
    }

    init(timeout: TimeInterval) {
        self.timeout = timeout
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        session.withLock { $0 = URLSession(configuration: configuration, delegate: self, delegateQueue: nil) }
    }

    /// Sends `request` with `body`; returns the HTTP status once the whole answer arrived.
    func post(_ request: URLRequest, body: Data) async throws(DeliveryError) -> Int {
        guard let task = session.withLock({ $0?.uploadTask(with: request, from: body) }) else {
            throw DeliveryError(.network, "no HTTP session")
        }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    pending.withLock { $0[task.taskIdentifier] = Pending(continuation: continuation) }
                    task.resume()
                    DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [weak self] in
                        let running = self?.pending.withLock { state -> Bool in
                            state[task.taskIdentifier]?.timedOut = true
                            return state[task.taskIdentifier] != nil
                        } ?? false
                        if running { task.cancel() }
                    }
                }
            } onCancel: {
                task.cancel()
            }
        } catch let error as DeliveryError {
            throw error
        } catch let error as URLError {
            throw DeliveryError(error.code == .timedOut ? .timedOut : .network, describe(error))
        } catch {
            throw DeliveryError(.network, "request failed")
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        pending.withLock { $0[task.taskIdentifier]?.redirectStatus = response.statusCode }
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let request = pending.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        if request.timedOut {
            request.continuation.resume(throwing: DeliveryError(.timedOut, "no whole answer within the \(timeout) s timeout"))
        } else if let error {
            request.continuation.resume(throwing: error)
        } else if let status = request.redirectStatus ?? (task.response as? HTTPURLResponse)?.statusCode {
            request.continuation.resume(returning: status)
        } else {
            request.continuation.resume(throwing: DeliveryError(.network, "no HTTP response"))
        }
    }

    /// URLSession's own texts name the URL: these do not.
    private func describe(_ error: URLError) -> String {
        switch error.code {
        case .timedOut: "timed out after \(timeout) s"
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
