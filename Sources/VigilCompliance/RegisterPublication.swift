import Crypto
import Foundation
import VigilStore

/// What a publish wrote down about one version of the public register: its number, when, the
/// SHA-256 of each file, and the SHA-256 of the previous version's manifest, so the versions form
/// a chain nobody can rewrite without the signing key. Written as `manifest.json` (sorted keys)
/// beside `manifest.json.sig`, the Ed25519 signature of exactly those bytes.
public struct RegisterManifest: Sendable, Equatable, Codable {
    /// 1 for the first publish, one more for each publish that changed something.
    public var version: Int
    /// When it was published, UTC ISO-8601.
    public var published: String
    /// The number of public cameras in it.
    public var cameras: Int
    /// File name -> lowercase hex SHA-256 of its bytes.
    public var files: [String: String]
    /// Hex SHA-256 of the previous version's `manifest.json`; nil for version 1.
    public var previous: String?

    /// The manifest's bytes as published (pretty, sorted keys, a final newline).
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Only strings, numbers and a dictionary of strings: encoding cannot fail.
        return ((try? encoder.encode(self)) ?? Data()) + Data("\n".utf8)
    }
}

/// Publishes the public register as a signed, versioned directory and checks such a directory.
///
/// Layout of a publication directory:
/// - `register.json`, `register.csv`, `register.geojson`: the current version (the same bytes as
///   `vigil register export`);
/// - `manifest.json` and `manifest.json.sig`: the current manifest and its signature;
/// - `history/<version>/`: the same five files for every version, so the chain can be checked.
public enum RegisterPublication {
    /// A publication that failed or a directory that does not verify; `description` says what and where.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// What ``publish(_:key:to:now:)`` did.
    public enum Outcome: Sendable, Equatable {
        /// A new version was written.
        case published(version: Int)
        /// The register is the same as the last published version: nothing was written.
        case unchanged(version: Int)
    }

    /// The file each export format is published as.
    public static let fileNames: [(PublicRegister.Format, String)] = [
        (.json, "register.json"), (.csv, "register.csv"), (.geojson, "register.geojson"),
    ]
    static let manifestName = "manifest.json"
    static let signatureName = "manifest.json.sig"

    /// Writes a new version of `register` into `directory` signed with `key`, unless it equals the
    /// last version there. The directory's existing manifest must verify with the same key.
    public static func publish(_ register: PublicRegister, key: Curve25519.Signing.PrivateKey, to directory: URL,
                               now: Date = Date()) throws(Failure) -> Outcome
    {
        var files: [(String, Data)] = []
        for (format, name) in fileNames {
            do {
                files.append((name, try register.render(format)))
            } catch {
                throw Failure(description: "cannot render the register as \(format.rawValue): \(error)")
            }
        }
        let hashes = Dictionary(uniqueKeysWithValues: files.map { ($0.0, sha256($0.1)) })
        var previous: (manifest: RegisterManifest, bytes: Data)?
        if FileManager.default.fileExists(atPath: directory.appending(path: manifestName).path) {
            let last = try readSigned(directory, key: key.publicKey, what: "the last publication in \(directory.path)")
            if last.manifest.files == hashes { return .unchanged(version: last.manifest.version) }
            previous = last
        }
        let manifest = RegisterManifest(
            version: (previous?.manifest.version ?? 0) + 1, published: timestamp(now), cameras: register.entries.count,
            files: hashes, previous: previous.map { sha256($0.bytes) })
        let manifestBytes = manifest.encoded()
        let signature: Data
        do {
            signature = try key.signature(for: manifestBytes)
        } catch {
            throw Failure(description: "cannot sign the manifest: \(error)")
        }
        let all = files + [(manifestName, manifestBytes), (signatureName, signature)]
        let history = directory.appending(path: "history/\(manifest.version)")
        do {
            try FileManager.default.createDirectory(at: history, withIntermediateDirectories: true)
            for (name, data) in all {
                try data.write(to: history.appending(path: name), options: .atomic)
            }
            // The current version last, the signature after the manifest it signs.
            for (name, data) in all {
                try data.write(to: directory.appending(path: name), options: .atomic)
            }
        } catch {
            throw Failure(description: "cannot write the register to \(directory.path): \(readable(error))")
        }
        return .published(version: manifest.version)
    }

    /// What ``verify(_:publicKey:)`` checked.
    public struct Verified: Sendable, Equatable {
        public let manifest: RegisterManifest
        /// Versions whose signature, files and link to the previous one were checked.
        public let versionsChecked: Int
    }

    /// Checks `directory`: the current manifest's signature, every file's hash, and every version
    /// in `history/` back to version 1 (signature, files, and its `previous` hash).
    public static func verify(_ directory: URL, publicKey: Curve25519.Signing.PublicKey) throws(Failure) -> Verified {
        let current = try readSigned(directory, key: publicKey, what: directory.path)
        try checkFiles(of: current.manifest, in: directory)
        var version = current.manifest.version
        var expected = current.bytes
        while version >= 1 {
            let folder = directory.appending(path: "history/\(version)")
            let entry = try readSigned(folder, key: publicKey, what: "version \(version) (\(folder.path))")
            guard entry.bytes == expected else {
                throw Failure(description: "version \(version): history/\(version)/manifest.json is not the manifest "
                    + "that version \(version + 1) links to (or the current one): the history was altered")
            }
            guard entry.manifest.version == version else {
                throw Failure(description: "history/\(version)/manifest.json says version \(entry.manifest.version)")
            }
            try checkFiles(of: entry.manifest, in: folder)
            if version == 1 {
                guard entry.manifest.previous == nil else {
                    throw Failure(description: "version 1 links to a previous manifest: the history is incomplete")
                }
                break
            }
            guard let link = entry.manifest.previous else {
                throw Failure(description: "version \(version) does not link to version \(version - 1)")
            }
            let before = directory.appending(path: "history/\(version - 1)/\(manifestName)")
            guard let bytes = FileManager.default.contents(atPath: before.path) else {
                throw Failure(description: "history/\(version - 1)/manifest.json is missing: the chain is broken")
            }
            guard sha256(bytes) == link else {
                throw Failure(description: "version \(version) links to a manifest whose hash is not that of "
                    + "history/\(version - 1)/manifest.json: the history was altered")
            }
            expected = bytes
            version -= 1
        }
        return Verified(manifest: current.manifest, versionsChecked: current.manifest.version)
    }

    /// Reads `manifest.json` in `folder` and checks its signature.
    private static func readSigned(_ folder: URL, key: Curve25519.Signing.PublicKey, what: String) throws(Failure)
        -> (manifest: RegisterManifest, bytes: Data)
    {
        let manifestURL = folder.appending(path: manifestName)
        guard let bytes = FileManager.default.contents(atPath: manifestURL.path) else {
            throw Failure(description: "\(what): \(manifestName) is missing or unreadable")
        }
        guard let signature = FileManager.default.contents(atPath: folder.appending(path: signatureName).path) else {
            throw Failure(description: "\(what): \(signatureName) is missing or unreadable")
        }
        guard key.isValidSignature(signature, for: bytes) else {
            throw Failure(description: "\(what): the signature does not match \(manifestName) for this public key "
                + "(altered, or signed with another key)")
        }
        do {
            return (try JSONDecoder().decode(RegisterManifest.self, from: bytes), bytes)
        } catch {
            throw Failure(description: "\(what): \(manifestName) is signed but not a register manifest")
        }
    }

    /// Checks that the files beside a manifest are exactly the ones it names, byte for byte.
    private static func checkFiles(of manifest: RegisterManifest, in folder: URL) throws(Failure) {
        for (name, hash) in manifest.files.sorted(by: { $0.key < $1.key }) {
            guard !name.contains("/"), let data = FileManager.default.contents(atPath: folder.appending(path: name).path)
            else {
                throw Failure(description: "\(folder.path): \(name) is missing")
            }
            guard sha256(data) == hash else {
                throw Failure(description: "\(folder.path): \(name) was changed after it was published "
                    + "(its SHA-256 is not the manifest's)")
            }
        }
    }

    /// Lowercase hex SHA-256.
    public static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    private static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    private static func readable(_ error: any Error) -> String {
        (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
    }
}
