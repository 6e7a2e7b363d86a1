import Foundation

/// A camera stream address: an `rtsp://`/`rtsps://` URL or a local video file, split from its credentials.
///
/// Users paste URLs such as `rtsp://admin:p%40ss@10.0.0.5/stream1`; the credentials are taken out
/// (percent-decoded) to be stored apart, and `connectURL(with:)` rebuilds the URL for FFmpeg with
/// correctly percent-encoded userinfo, so passwords may contain `@ / # :`.
public struct StreamAddress: Sendable, Equatable {
    /// The address without credentials: a URL, or an absolute file path.
    public let address: String
    /// Credentials that were inside the URL, if any.
    public let credentials: CameraCredentials?

    public var isFile: Bool { !address.contains("://") }

    /// A bad address; `description` names the field and the problem, never a password.
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Parses what the user gave for `field` (`url` or `detect-url`). Relative file paths are made
    /// absolute against `directory`.
    public init(parsing text: String, field: String = "url",
                directory: String = FileManager.default.currentDirectoryPath) throws(Problem) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw Problem(description: "\(field) is empty") }
        guard let schemeEnd = trimmed.range(of: "://") else {
            if trimmed.contains(":") && !trimmed.hasPrefix("/") && !trimmed.hasPrefix(".") {
                throw Self.badScheme(String(trimmed.prefix { $0 != ":" }), field: field)
            }
            address = URL(fileURLWithPath: trimmed, relativeTo: URL(fileURLWithPath: directory, isDirectory: true))
                .standardizedFileURL.path
            credentials = nil
            return
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        let rest = trimmed[schemeEnd.upperBound...]
        switch scheme {
        case "file":
            guard rest.hasPrefix("/"), let path = String(rest).removingPercentEncoding else {
                throw Problem(description: "\(field) is not a file URL with an absolute path (file:///path)")
            }
            address = URL(fileURLWithPath: path).standardizedFileURL.path
            credentials = nil
        case "rtsp", "rtsps":
            // The authority ends at the first '/', '?' or '#'; its userinfo runs to the last '@', so a
            // raw '@' in a password works. An '@' after that point means a raw '/', '?' or '#' in a
            // password: the URL cannot be split safely, and no part of it is quoted (it may be a password).
            let authority = rest.prefix { !"/?#".contains($0) }
            let pathAndQuery = rest[authority.endIndex...]
            guard !pathAndQuery.contains("@") else {
                throw Problem(description: "\(field) has an '@' after a '/', '?' or '#': percent-encode / # ? in the "
                              + "password (%2F %23 %3F), or use --username with --password-file")
            }
            var host = authority
            var parsedCredentials: CameraCredentials?
            if let at = authority.range(of: "@", options: .backwards) {
                parsedCredentials = try Self.credentials(from: String(authority[..<at.lowerBound]), field: field)
                host = authority[at.upperBound...]
            }
            try Self.checkHost(String(host), scheme: scheme, field: field)
            guard !pathAndQuery.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw Problem(description: "\(field) has a control character in its path; percent-encode it")
            }
            address = "\(scheme)://\(host)\(pathAndQuery)"
            credentials = parsedCredentials
        default:
            throw Self.badScheme(scheme, field: field)
        }
    }

    /// Checks `HOST[:PORT]` or `[IPv6][:PORT]`. The port is quoted only when it is all digits: a
    /// mistyped URL may carry part of a password there.
    private static func checkHost(_ host: String, scheme: String, field: String) throws(Problem) {
        var name = Substring(host), port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else {
                throw Problem(description: "\(field) has an IPv6 address without its closing ']'; "
                              + "expected \(scheme)://[ADDRESS]:PORT/PATH")
            }
            name = host[host.index(after: host.startIndex)..<close]
            let after = host[host.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else {
                throw Problem(description: "\(field) has text after the IPv6 address's ']'; expected [ADDRESS]:PORT")
            }
            port = after.isEmpty ? nil : after.dropFirst()
            guard !name.isEmpty, name.allSatisfy({ $0.isHexDigit || ":.%".contains($0) }) else {
                throw Problem(description: "\(field) has an invalid IPv6 address inside [ ]")
            }
        } else if let colon = host.lastIndex(of: ":") {
            name = host[..<colon]
            port = host[host.index(after: colon)...]
        }
        guard !name.isEmpty else {
            throw Problem(description: "\(field) has no host; expected \(scheme)://HOST[:PORT]/PATH")
        }
        guard host.hasPrefix("[") || name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._~%".contains($0)) })
        else {
            throw Problem(description: "\(field) has a host with characters a host name cannot have; "
                          + "expected \(scheme)://HOST[:PORT]/PATH (percent-encode / # ? in a password)")
        }
        if let port {
            let digits = !port.isEmpty && port.allSatisfy { $0.isASCII && $0.isNumber }
            guard digits, port.count <= 5, let number = Int(port), (1...65535).contains(number) else {
                throw Problem(description: "\(field) has an invalid port" + (digits ? " '\(port)'" : "")
                              + "; expected 1-65535")
            }
        }
    }

    /// The scheme is quoted only when it looks like one (letters first, then letters, digits, `+ . -`):
    /// text before a `://` that does not may be a mistyped password.
    private static func badScheme(_ scheme: String, field: String) -> Problem {
        let looksLikeScheme = scheme.count <= 16 && scheme.first?.isLetter == true
            && scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) }
        return Problem(description: "\(field) has " + (looksLikeScheme ? "unsupported scheme '\(scheme)'" : "no valid scheme")
                       + "; use rtsp://, rtsps://, file:// or a file path")
    }

    private static func credentials(from userinfo: String, field: String) throws(Problem) -> CameraCredentials? {
        guard !userinfo.isEmpty else { return nil }
        let parts = userinfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let user = parts[0].removingPercentEncoding,
            let password = (parts.count > 1 ? String(parts[1]) : "").removingPercentEncoding
        else {
            throw Problem(description: "\(field) has credentials with invalid percent-encoding; "
                          + "use --username with --password-file instead")
        }
        // `rtsp://:@host` names no one: no credentials, as FFmpeg would also send none.
        return user.isEmpty && password.isEmpty ? nil : CameraCredentials(username: user, password: password)
    }

    /// A stored address as `camera list` and `camera show` print it: anything between `://` and the
    /// last `@` masked, wherever that `@` is. Addresses are stored without credentials, but a record
    /// written before ambiguous URLs were refused may hold `rtsp://admin:4711/9876@host/...`.
    public static func displayed(_ address: String) -> String {
        guard let schemeEnd = address.range(of: "://"),
            let at = address[schemeEnd.upperBound...].lastIndex(of: "@")
        else { return address }
        return address[..<schemeEnd.upperBound] + "***" + address[at...]
    }

    /// The URL to hand to FFmpeg: the address with `credentials` percent-encoded into the userinfo.
    public static func connectURL(for address: String, with credentials: CameraCredentials?) -> String {
        guard let credentials, let schemeEnd = address.range(of: "://") else { return address }
        let user = percentEncode(credentials.username)
        let password = percentEncode(credentials.password)
        let userinfo = credentials.password.isEmpty ? user : "\(user):\(password)"
        return address[..<schemeEnd.upperBound] + userinfo + "@" + address[schemeEnd.upperBound...]
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
