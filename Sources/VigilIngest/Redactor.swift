import Foundation
import Synchronization

/// Removes credentials from text before it is printed or logged.
///
/// Covers the userinfo of URLs (`rtsp://user:pass@host` becomes `rtsp://***@host`), query-string
/// secrets (`password=`, `pwd=`, `token=`, ...), `Authorization:` headers, and every secret
/// registered with `register(secret:)` in its raw, percent-encoded and base64 (`user:password`) forms.
public struct Redactor: Sendable {
    /// The process-wide redactor used for FFmpeg's log and every log line Vigil prints.
    public static let shared = SharedRedactor()

    public static let mask = "***"

    private var secrets: Set<String> = []

    public init() {}

    /// Adds a secret to hide; for a password pass its user name too so `user:password` in base64 is hidden.
    public mutating func register(secret: String, user: String? = nil) {
        guard !secret.isEmpty else { return }
        for form in Self.forms(of: secret, user: user) where form.count >= 3 {
            secrets.insert(form)
        }
    }

    /// Raw, percent-encoded and base64 forms of a secret.
    static func forms(of secret: String, user: String?) -> [String] {
        var forms = [secret]
        if let encoded = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) { forms.append(encoded) }
        if let encoded = secret.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) { forms.append(encoded) }
        if let encoded = secret.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed) { forms.append(encoded) }
        if let user {
            forms.append(Data("\(user):\(secret)".utf8).base64EncodedString())
        }
        forms.append(Data(secret.utf8).base64EncodedString())
        return forms
    }

    /// `text` with every credential replaced by `***`.
    public func redact(_ text: String) -> String {
        var result = text
        // Longest first, so that a secret's longer form is not left half-masked by a shorter one.
        for secret in secrets.sorted(by: { $0.count > $1.count }) where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Self.mask)
        }
        result = result.replacing(Self.userinfo) { "\($0.output.1)\(Self.mask)@" }
        result = result.replacing(Self.querySecret) { "\($0.output.1)\(Self.mask)" }
        result = result.replacing(Self.authorizationHeader) { "\($0.output.1)\(Self.mask)" }
        return result
    }

    // scheme://userinfo@ : userinfo runs to the last '@' before the path, and may hold '@' and ':'.
    nonisolated(unsafe) private static let userinfo = #/([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s]*@/#
    nonisolated(unsafe) private static let querySecret =
        #/(?i)([?&;](?:password|passwd|pwd|pass|token|secret|key|auth)=)[^&\s#]*/#
    nonisolated(unsafe) private static let authorizationHeader = #/(?i)((?:proxy-)?authorization:\s*)\S.*/#
}

/// A `Redactor` that camera workers register secrets with while other threads redact.
public final class SharedRedactor: Sendable {
    private let state = Mutex(Redactor())

    public func register(secret: String, user: String? = nil) {
        state.withLock { $0.register(secret: secret, user: user) }
    }

    public func redact(_ text: String) -> String {
        state.withLock { $0 }.redact(text)
    }
}
