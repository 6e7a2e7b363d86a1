import Foundation
import Testing
import VigilTestSupport
import VigilTesting

/// `vigil register keygen | publish | verify | diff` on real files, checked by the CLI and by OpenSSL.
@Suite("signed, versioned public register")
struct RegisterPublicationTests {
    /// A registry with one public and one private camera (with credentials), a key pair and a publication folder.
    final class Publication {
        let fixture: RegistryFixture
        let key: String
        let output: String

        init() throws {
            fixture = try RegistryFixture()
            key = fixture.files.url.appendingPathComponent("register.key").path
            output = fixture.files.url.appendingPathComponent("public").path
            try #require(try fixture.vigil(RegistryFixture.addArguments(
                id: "korenmarkt", url: "rtsp://admin:S3cret%2Fpw@10.9.8.7:8554/main")).status == 0)
            try #require(try fixture.vigil(RegistryFixture.addArguments(id: "depot", visibility: "--private")).status == 0)
            let keygen = try runVigil(["register", "keygen", "--output", key])
            try #require(keygen.status == 0, "\(keygen.stderrText)")
        }

        func publish() throws -> ProcessOutput {
            try fixture.vigil(["register", "publish", "--key", key, "--output", output])
        }

        func verify(publicKey: String? = nil) throws -> ProcessOutput {
            try runVigil(["register", "verify", output, "--public-key", publicKey ?? key + ".pub"])
        }

        func path(_ name: String) -> String { output + "/" + name }
    }

    @Test("keygen writes a 0600 private key and refuses to overwrite it")
    func keygen() throws {
        let publication = try Publication()
        let mode = try FileManager.default.attributesOfItem(atPath: publication.key)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = try runVigil(["register", "keygen", "--output", publication.key])
        #expect(again.status != 0)
        #expect(again.stderrText.contains("already exists"))
    }

    @Test("a publish verifies with vigil and with openssl, and a second publish with nothing changed writes nothing")
    func publishAndVerify() throws {
        let publication = try Publication()
        let first = try publication.publish()
        #expect(first.status == 0, "\(first.stderrText)")
        #expect(first.stdoutText.contains("published version 1"))
        let verified = try publication.verify()
        #expect(verified.status == 0, "\(verified.stderrText)")
        #expect(verified.stdoutText.contains("version 1"))
        // Anyone can check the signature with OpenSSL alone.
        let openssl = try runProcess("/usr/bin/openssl", [
            "pkeyutl", "-verify", "-pubin", "-inkey", publication.key + ".pub", "-rawin",
            "-in", publication.path("manifest.json"), "-sigfile", publication.path("manifest.json.sig"),
        ])
        #expect(openssl.status == 0, "\(openssl.stdoutText)\(openssl.stderrText)")
        // The published files are the same bytes as `register export`.
        for (format, file) in [("json", "register.json"), ("csv", "register.csv"), ("geojson", "register.geojson")] {
            let export = try publication.fixture.vigil(["register", "export", "--format", format])
            #expect(export.stdout == FileManager.default.contents(atPath: publication.path(file)), "\(file)")
        }
        let before = try FileManager.default.attributesOfItem(atPath: publication.path("manifest.json"))
        let second = try publication.publish()
        #expect(second.status == 0)
        #expect(second.stdoutText.contains("unchanged since version 1"))
        let after = try FileManager.default.attributesOfItem(atPath: publication.path("manifest.json"))
        #expect(before[.modificationDate] as? Date == after[.modificationDate] as? Date)
        #expect(!FileManager.default.fileExists(atPath: publication.path("history/2")))
    }

    @Test("a register signed with one key does not verify with another")
    func otherKeyFails() throws {
        let publication = try Publication()
        #expect(try publication.publish().status == 0)
        let other = publication.fixture.files.url.appendingPathComponent("other.key").path
        #expect(try runVigil(["register", "keygen", "--output", other]).status == 0)
        let verified = try publication.verify(publicKey: other + ".pub")
        #expect(verified.status == 1)
        #expect(verified.stderrText.contains("signature does not match"), "\(verified.stderrText)")
        // Publishing into the folder with another key is refused too: it would break the chain.
        let hijack = try publication.fixture.vigil(["register", "publish", "--key", other, "--output", publication.output])
        #expect(hijack.status != 0)
    }

    @Test("verify finds a changed byte, an altered history and a broken chain")
    func tamperingIsFound() throws {
        let publication = try Publication()
        #expect(try publication.publish().status == 0)
        #expect(try publication.fixture.vigil(["camera", "update", "korenmarkt", "--name", "Korenmarkt Noord"]).status == 0)
        #expect(try publication.publish().stdoutText.contains("published version 2"))
        #expect(try publication.verify().stdoutText.contains("2 versions chained"))

        // One byte of the current CSV.
        let csv = publication.path("register.csv")
        let original = try #require(FileManager.default.contents(atPath: csv))
        var changed = original
        changed[changed.count / 2] ^= 0x01
        try changed.write(to: URL(fileURLWithPath: csv))
        let byte = try publication.verify()
        #expect(byte.status == 1)
        #expect(byte.stderrText.contains("register.csv was changed"), "\(byte.stderrText)")
        try original.write(to: URL(fileURLWithPath: csv))
        #expect(try publication.verify().status == 0)

        // An old version's register rewritten.
        let old = publication.path("history/1/register.json")
        let oldBytes = try #require(FileManager.default.contents(atPath: old))
        try Data(String(decoding: oldBytes, as: UTF8.self).replacingOccurrences(of: "Brussel", with: "Gent").utf8)
            .write(to: URL(fileURLWithPath: old))
        #expect(try publication.verify().stderrText.contains("register.json was changed"))
        try oldBytes.write(to: URL(fileURLWithPath: old))

        // The first version removed: the chain is broken.
        try FileManager.default.removeItem(atPath: publication.path("history/1"))
        let broken = try publication.verify()
        #expect(broken.status == 1)
        #expect(broken.stderrText.contains("history/1"), "\(broken.stderrText)")
    }

    @Test("diff names the cameras added, removed and changed between two publishes")
    func diffOfTwoPublishes() throws {
        let publication = try Publication()
        #expect(try publication.publish().status == 0)
        let fixture = publication.fixture
        #expect(try fixture.vigil(RegistryFixture.addArguments(id: "vismarkt")).status == 0)
        #expect(try fixture.vigil(["camera", "update", "korenmarkt", "--retention-days", "14"]).status == 0)
        #expect(try publication.publish().status == 0)
        let diff = try runVigil(["register", "diff", publication.path("history/1"), publication.output])
        #expect(diff.status == 1)
        #expect(diff.stdoutText == "+ vismarkt\n~ korenmarkt retention_days: null -> 14\n", "\(diff.stdoutText)")
        #expect(try fixture.vigil(["camera", "update", "vismarkt", "--private"]).status == 0)
        #expect(try publication.publish().status == 0)
        let removed = try runVigil(["register", "diff", publication.path("history/2"), publication.path("history/3")])
        #expect(removed.stdoutText == "- vismarkt\n")
        let same = try runVigil(["register", "diff", publication.path("history/1"), publication.path("history/1")])
        #expect(same.status == 0 && same.stdoutText.isEmpty)
        let missing = try runVigil(["register", "diff", publication.path("nothing"), publication.output])
        #expect(missing.status == 2)
    }

    @Test("no published file holds a URL, host, credential or private camera")
    func nothingPrivateIsPublished() throws {
        let publication = try Publication()
        #expect(try publication.publish().status == 0)
        let files = try FileManager.default.subpathsOfDirectory(atPath: publication.output)
        var everything = Data()
        for file in files {
            everything.append(FileManager.default.contents(atPath: publication.path(file)) ?? Data())
        }
        let text = String(decoding: everything, as: UTF8.self)
        #expect(text.contains("korenmarkt"))
        for secret in ["depot", "rtsp", "10.9.8.7", "8554", "admin", "S3cret", "/main", "10.1.2.3"] {
            #expect(!text.contains(secret), "a published file contains \(secret)")
        }
    }
}
