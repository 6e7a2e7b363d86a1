import Crypto
import Foundation
import Synchronization

/// The login sessions of the status page: a browser cannot put an `Authorization` header on an
/// `EventSource`, so `POST /login` with the token gives it a cookie instead.
///
/// A session is `v1.<expiry>.<nonce>.<mac>`: when it ends (Unix seconds), 128 random bits, and an
/// HMAC-SHA256 of both keyed with the bearer token, checked in constant time. Nothing is stored per
/// session; changing the token ends every session, and `POST /logout` ends one (its nonce is
/// remembered until the session would have expired anyway).
final class Sessions: Sendable {
    static let cookieName = "vigil_session"
    /// How long a session lasts: a working day.
    static let lifetime = 12 * 3600

    /// The HMAC key: the token's bytes (kept as bytes: `SymmetricKey` is not `Sendable`).
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    private let now: @Sendable () -> Date
    /// Nonces of sessions ended by a logout, with their expiry.
    private let revoked = Mutex<[String: Int]>([:])

    init(token: String, now: @escaping @Sendable () -> Date = Date.init) {
        keyBytes = Array(token.utf8)
        self.now = now
    }

    /// A new session's cookie value.
    func open() -> String {
        let expiry = Int(now().timeIntervalSince1970) + Self.lifetime
        let nonce = SymmetricKey(size: .bits128).withUnsafeBytes { Self.hex($0) }
        let message = "v1.\(expiry).\(nonce)"
        return message + "." + Self.hex(Array(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key)))
    }

    /// Whether `value` is a session this server opened with its token, not expired and not logged out.
    func isValid(_ value: Substring) -> Bool {
        guard let session = verified(value) else { return false }
        return session.expiry > Int(now().timeIntervalSince1970) && revoked.withLock { $0[session.nonce] == nil }
    }

    /// Ends the session `value` (a logout); a value that is not a session is ignored.
    func close(_ value: Substring) {
        guard let session = verified(value) else { return }
        let time = Int(now().timeIntervalSince1970)
        revoked.withLock { revoked in
            revoked = revoked.filter { $0.value > time }
            revoked[session.nonce] = session.expiry
        }
    }

    /// The nonce and expiry of a well-formed value whose MAC is right (compared in constant time).
    private func verified(_ value: Substring) -> (nonce: String, expiry: Int)? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v1", let expiry = Int(parts[1]), parts[2].utf8.count == 32,
              let mac = Self.bytes(hex: parts[3]), mac.count == SHA256.byteCount
        else { return nil }
        let message = Data(value.utf8.prefix(value.utf8.count - parts[3].utf8.count - 1))
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: message, using: key) else { return nil }
        return (String(parts[2]), expiry)
    }

    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    private static func bytes(hex: Substring) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
