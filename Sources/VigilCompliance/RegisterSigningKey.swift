import Crypto
import Foundation

/// Ed25519 keys for signing the public register, stored as PEM files that OpenSSL reads too
/// (PKCS#8 for the private key, SubjectPublicKeyInfo for the public key), so anyone can check a
/// published register with `openssl pkeyutl -verify -rawin` as well as with `vigil register verify`.
public enum RegisterSigningKey {
    /// A key file that cannot be used; `description` names the file and what is wrong.
    public struct KeyError: Error, CustomStringConvertible {
        public let description: String
    }

    /// DER prefixes of an Ed25519 key: what precedes the 32 key bytes (RFC 8410).
    private static let privatePrefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
                                                 0x70, 0x04, 0x22, 0x04, 0x20]
    private static let publicPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21,
                                                0x00]

    /// Creates a new key pair: the private key at `path` (mode 0600 from the start) and the public key
    /// at `path.pub` (0644). Never overwrites: an existing file (or symlink) at either path is an error.
    public static func createKeyPair(at path: String) throws(KeyError) {
        let key = Curve25519.Signing.PrivateKey()
        let publicPath = path + ".pub"
        for existing in [path, publicPath] where (try? FileManager.default.attributesOfItem(atPath: existing)) != nil {
            throw KeyError(description: "\(existing) already exists: keygen never overwrites a key "
                + "(remove it first, or pick another --output)")
        }
        try writeNew(path, pem(key), mode: 0o600)
        try writeNew(publicPath, pem(key.publicKey), mode: 0o644)
    }

    /// Writes a file that must not exist yet, with its final mode from the moment it is created.
    private static func writeNew(_ path: String, _ text: String, mode: mode_t) throws(KeyError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw KeyError(description: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            throw KeyError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The private key as a PKCS#8 PEM document.
    public static func pem(_ key: Curve25519.Signing.PrivateKey) -> String {
        pem(label: "PRIVATE KEY", der: privatePrefix + key.rawRepresentation)
    }

    /// The public key as a SubjectPublicKeyInfo PEM document.
    public static func pem(_ key: Curve25519.Signing.PublicKey) -> String {
        pem(label: "PUBLIC KEY", der: publicPrefix + key.rawRepresentation)
    }

    /// Reads a private key written by ``pem(_:)-swift.type.method`` (or `openssl genpkey -algorithm ed25519`).
    public static func privateKey(file path: String) throws(KeyError) -> Curve25519.Signing.PrivateKey {
        let raw = try keyBytes(file: path, label: "PRIVATE KEY", prefix: privatePrefix)
        do {
            return try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        } catch {
            throw KeyError(description: "\(path) is not an Ed25519 private key")
        }
    }

    /// Reads a public key written by ``pem(_:)-swift.type.method`` (or `openssl pkey -pubout`).
    public static func publicKey(file path: String) throws(KeyError) -> Curve25519.Signing.PublicKey {
        let raw = try keyBytes(file: path, label: "PUBLIC KEY", prefix: publicPrefix)
        do {
            return try Curve25519.Signing.PublicKey(rawRepresentation: raw)
        } catch {
            throw KeyError(description: "\(path) is not an Ed25519 public key")
        }
    }

    private static func pem(label: String, der: [UInt8]) -> String {
        "-----BEGIN \(label)-----\n\(Data(der).base64EncodedString())\n-----END \(label)-----\n"
    }

    private static func keyBytes(file path: String, label: String, prefix: [UInt8]) throws(KeyError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path), data.count < 4096,
            let text = String(data: data, encoding: .utf8)
        else {
            throw KeyError(description: "cannot read key file \(path): missing, unreadable or not a PEM file")
        }
        let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard text.contains("-----BEGIN \(label)-----"), let der = Data(base64Encoded: body).map(Array.init),
            der.count == prefix.count + 32, Array(der.prefix(prefix.count)) == prefix
        else {
            throw KeyError(description: "\(path) is not an Ed25519 \(label.lowercased()) in PEM form "
                + "(make one with `vigil register keygen`)")
        }
        return Array(der.suffix(32))
    }
}
