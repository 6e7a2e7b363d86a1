import ArgumentParser
import Foundation
import VigilCompliance
import VigilSQLite
import VigilStore

/// `vigil register keygen`: an Ed25519 key pair for signing the published register.
struct RegisterKeygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create an Ed25519 key pair for signing the register (private key 0600, public key beside it).",
        discussion: "Writes FILE (the private key, PKCS#8 PEM, mode 0600) and FILE.pub (the public key, which the "
            + "public uses to verify). Refuses to overwrite an existing key."
    )

    @Option(help: "Where to write the private key; the public key goes to FILE.pub.")
    var output: String

    func run() throws {
        try reportingFailures {
            do {
                try RegisterSigningKey.createKeyPair(at: output)
            } catch let error as RegisterSigningKey.KeyError {
                throw Failure(error.description)
            }
            print("private key \(output) (keep it secret), public key \(output).pub (publish it)")
        }
    }
}

/// `vigil register publish`: a new signed version of the register, when it changed.
struct RegisterPublish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Write the register (JSON, CSV, GeoJSON) with a signed, chained manifest into a directory.",
        discussion: "Writes register.json, register.csv, register.geojson, manifest.json (version, time, the SHA-256 "
            + "of each file and of the previous manifest) and manifest.json.sig, plus a copy of all five under "
            + "history/<version>/. Writes nothing when the register equals the last published version. With "
            + "--config naming a config with a cluster: section, the register is the fleet's (its database's cameras)."
    )

    @Option(help: "The private key from `vigil register keygen`.")
    var key: String
    @Option(help: "The publication directory (created if missing).")
    var output: String
    @OptionGroup var registry: RegistryOptions

    func run() async throws {
        try await reportingFailures {
            let register = PublicRegister(cameras: try await registry.withRegistry(reading: true) { try await $0.cameras() })
            do {
                let signingKey = try RegisterSigningKey.privateKey(file: key)
                switch try RegisterPublication.publish(register, key: signingKey, to: URL(fileURLWithPath: output)) {
                case .published(let version):
                    print("published version \(version) of the register (\(register.entries.count) public cameras) in \(output)")
                case .unchanged(let version):
                    print("the register is unchanged since version \(version): nothing written")
                }
            } catch let error as RegisterSigningKey.KeyError {
                throw Failure(error.description)
            } catch let error as RegisterPublication.Failure {
                throw Failure(error.description)
            }
        }
    }
}

/// `vigil register verify`: checks a publication directory against a public key.
struct RegisterVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a published register: the signature, every file's hash and the chain of versions.",
        discussion: "Exits 0 when everything verifies, 1 with the first problem otherwise."
    )

    @Argument(help: "The publication directory.")
    var directory: String
    @Option(name: .customLong("public-key"), help: "The publisher's public key (FILE.pub from keygen).")
    var publicKey: String

    func run() throws {
        try reportingFailures {
            do {
                let key = try RegisterSigningKey.publicKey(file: publicKey)
                let verified = try RegisterPublication.verify(URL(fileURLWithPath: directory), publicKey: key)
                print("verified: version \(verified.manifest.version) published \(verified.manifest.published), "
                    + "\(verified.manifest.cameras) public cameras, \(verified.versionsChecked) versions chained")
            } catch let error as RegisterSigningKey.KeyError {
                throw Failure(error.description)
            } catch let error as RegisterPublication.Failure {
                throw Failure("\(directory) does not verify: \(error.description)")
            }
        }
    }
}

/// `vigil register diff`: which cameras two published registers add, remove or change; without NEW,
/// what publishing the registry now (SQLite, or the fleet's with `--config`) would change.
struct RegisterDiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show the cameras added (+), removed (-) and changed (~) between two published registers.",
        discussion: "OLD and NEW are publication directories (or history/<version> folders, or register.json files). "
            + "Without NEW, OLD is compared with the current register: the public cameras of the registry (the "
            + "state directory's, or the fleet's with --config naming a config with a cluster: section), what "
            + "`vigil register publish` would publish. "
            + "Exits 0 when they are the same, 1 when they differ (like diff(1)), 2 on an error."
    )

    @Argument(help: "The older register.")
    var old: String
    @Argument(help: "The newer register (default: the current register, from the registry).")
    var new: String?
    @OptionGroup var registry: RegistryOptions

    func run() async throws {
        let diff: RegisterDiff
        do {
            if let new {
                diff = try RegisterDiff(old: old, new: new)
            } else {
                let cameras = try await registry.withRegistry(reading: true) { try await $0.cameras() }
                diff = try RegisterDiff(old: old, current: PublicRegister(cameras: cameras))
            }
        } catch let failure as Failure {
            printError("vigil: \(failure.message)")
            throw ExitCode(2)
        } catch {
            printError("vigil: \(error)")
            throw ExitCode(2)
        }
        for line in diff.lines { print(line) }
        if !diff.isEmpty { throw ExitCode(1) }
    }
}

/// `vigil register check`: what each camera lacks for its declaration, or what is overdue.
struct RegisterCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "List what each enabled camera lacks for its declaration (date, pictogram, fields) or has overdue, "
            + "and its evidence holds.",
        discussion: "Exits 0 when every enabled camera is in order, 1 when one needs attention. With --config naming "
            + "a config with a cluster: section, the cameras are the fleet's; the evidence holds are always this "
            + "machine's (the state directory's), as they guard the snapshots kept here."
    )

    @Flag(help: "One JSON object per camera that needs attention.")
    var json = false
    @OptionGroup var registry: RegistryOptions

    func run() async throws {
        var failing: [DeclarationCheck.Finding] = []
        try await reportingFailures {
            let holds: [EvidenceHold]
            do throws(EvidenceHolds.Failure) {
                holds = try EvidenceHolds.existing(in: registry.state.directory)?.all().filter { $0.isActive(at: Date()) } ?? []
            } catch {
                throw Failure(error.description)
            }
            let check = DeclarationCheck(cameras: try await registry.withRegistry(reading: true) { try await $0.cameras() },
                                         holds: Dictionary(grouping: holds, by: \.camera).mapValues(\.count))
            failing = check.failing
            // Cameras in order are listed only when they hold evidence.
            let shown = check.findings.filter { !$0.problems.isEmpty || $0.holds > 0 }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                for finding in shown {
                    print(String(decoding: try encoder.encode(finding), as: UTF8.self))
                }
                return
            }
            for finding in shown {
                let held = finding.holds == 0 ? "" : " (\(finding.holds) evidence hold\(finding.holds == 1 ? "" : "s"))"
                let problems = finding.problems.isEmpty ? "in order" : finding.problems.joined(separator: "; ")
                print("\(TextFile.escaped(finding.camera)): \(problems)\(held)")
            }
            print(failing.isEmpty ? "all \(check.findings.count) enabled cameras are in order"
                  : "\(failing.count) of \(check.findings.count) enabled cameras need attention")
        }
        if !failing.isEmpty { throw ExitCode(1) }
    }
}
