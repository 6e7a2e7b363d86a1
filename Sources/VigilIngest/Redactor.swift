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

    /// Raw, percent-encoded and base64 forms of a secret: what `register(secret:user:)` hides.
    public static func forms(of secret: String, user: String?) -> [String] {
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

    /// `text` with every credential replaced by `***`. Linear in the length of `text` (hand-written
    /// scans over its UTF-8 bytes, times the length of each registered secret for those); every
    /// delimiter is ASCII and every secret whole characters, so masking never splits a character.
    public func redact(_ text: String) -> String {
        var bytes = Array(text.utf8)
        // Longest first, so that a secret's longer form is not left half-masked by a shorter one.
        // Bytes, not characters: a secret next to a combining mark is still the secret's bytes.
        for secret in secrets.sorted(by: { $0.utf8.count > $1.utf8.count }) {
            bytes = Self.replacing(Array(secret.utf8), in: bytes)
        }
        bytes = Self.maskUserinfo(bytes)
        bytes = Self.maskQuerySecrets(bytes)
        bytes = Self.maskAuthorizationHeaders(bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let maskBytes = Array(mask.utf8)
    private static let querySecretNames = ["password", "passwd", "pwd", "pass", "token", "secret", "key", "auth"]
        .map { Array("\($0)=".utf8) }
    private static let authorization = Array("authorization:".utf8)

    /// `bytes` with every occurrence of `secret` replaced by the mask, left to right.
    static func replacing(_ secret: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        guard let first = secret.first, bytes.count >= secret.count else { return bytes }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == first, bytes.count - index >= secret.count,
                bytes[index..<index + secret.count].elementsEqual(secret)
            {
                output += maskBytes
                index += secret.count
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return output
    }

    /// `scheme://userinfo@` becomes `scheme://***@`; the userinfo runs to the last `@` before the
    /// first `/`, `?`, `#` or space, so it may hold `@` and `:`. The scheme is a run of
    /// `[A-Za-z0-9+.-]` holding a letter. Each byte is looked at a bounded number of times: the
    /// backward scan for a scheme stops at the previous `://`, the forward one at the next `/`.
    static func maskUserinfo(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var copied = 0, index = 0
        while index + 2 < bytes.count {
            guard bytes[index] == UInt8(ascii: ":"), bytes[index + 1] == UInt8(ascii: "/"),
                bytes[index + 2] == UInt8(ascii: "/")
            else {
                index += 1
                continue
            }
            var start = index, hasLetter = false
            while start > copied, isSchemeByte(bytes[start - 1]) {
                start -= 1
                hasLetter = hasLetter || isLetter(bytes[start])
            }
            let userinfoStart = index + 3
            var end = userinfoStart, lastAt: Int?
            while hasLetter, end < bytes.count, !"/?#".utf8.contains(bytes[end]), !isSpace(bytes[end]) {
                if bytes[end] == UInt8(ascii: "@") { lastAt = end }
                end += 1
            }
            if let lastAt {
                output += bytes[copied..<userinfoStart]
                output += maskBytes
                copied = lastAt
                index = lastAt + 1
            } else {
                index = userinfoStart
            }
        }
        output += bytes[copied...]
        return output
    }

    /// `?password=...`, `&token=...` (also `;`, and `passwd pwd pass secret key auth`, any case): the
    /// value, up to `&`, `#` or a space, becomes `***`.
    static func maskQuerySecrets(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            output.append(byte)
            index += 1
            guard "?&;".utf8.contains(byte),
                let name = querySecretNames.first(where: { hasPrefix(bytes, at: index, caseInsensitive: $0) })
            else { continue }
            output += bytes[index..<index + name.count]
            index += name.count
            while index < bytes.count, !"&#".utf8.contains(bytes[index]), !isSpace(bytes[index]) { index += 1 }
            output += maskBytes
        }
        return output
    }

    /// `Authorization: ...` and `Proxy-Authorization: ...` (any case): the rest of the line after
    /// the header's name and spaces becomes `***`.
    static func maskAuthorizationHeaders(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            guard hasPrefix(bytes, at: index, caseInsensitive: authorization) else {
                output.append(bytes[index])
                index += 1
                continue
            }
            var valueStart = index + authorization.count
            while valueStart < bytes.count, isSpace(bytes[valueStart]) { valueStart += 1 }
            output += bytes[index..<valueStart]
            index = valueStart
            guard index < bytes.count else { break }
            while index < bytes.count, !"\n\r\u{0B}\u{0C}".utf8.contains(bytes[index]) { index += 1 }
            output += maskBytes
        }
        return output
    }

    private static func hasPrefix(_ bytes: [UInt8], at index: Int, caseInsensitive prefix: [UInt8]) -> Bool {
        guard bytes.count - index >= prefix.count else { return false }
        for offset in prefix.indices {
            let byte = bytes[index + offset]
            if (isLetter(byte) ? byte | 0x20 : byte) != prefix[offset] { return false }
        }
        return true
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
    }

    private static func isSchemeByte(_ byte: UInt8) -> Bool {
        isLetter(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "+.-".utf8.contains(byte)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
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
