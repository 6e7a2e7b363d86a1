import ArgumentParser
import Foundation
import VigilDetector
import VigilIngest
import VigilPipeline
import VigilStore

/// `vigil camera`: the private registry of cameras.
struct CameraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camera",
        abstract: "Manage the registry of cameras.",
        subcommands: [
            AddCamera.self, ListCameras.self, ShowCamera.self, UpdateCamera.self, RemoveCamera.self,
            EnableCamera.self, DisableCamera.self, ImportCameras.self, TestCamera.self,
        ]
    )
}

/// Whether a camera is listed in the public register.
enum Visibility: String, EnumerableFlag {
    case `public`, `private`

    static func help(for value: Visibility) -> ArgumentHelp? {
        value == .public ? "List the camera in the public register." : "Keep the camera out of the public register."
    }
}

/// The camera fields as options, shared by `add` and `update`. Values are validated together in
/// `CameraFields`, so the two commands (and `import`) accept exactly the same things.
struct CameraFieldOptions: ParsableArguments {
    @Option(help: "Stream URL: rtsp://, rtsps://, file:// or a video file path. Credentials inside are stored apart.")
    var url: String?
    @Option(help: "Low-resolution detection sub-stream URL.")
    var detectURL: String?
    @Option(help: "Display name.")
    var name: String?
    // Unconditional: `--lon -73.9` takes the negative number as the value, not as an option.
    @Option(parsing: .unconditional, help: "Latitude, WGS84 degrees (-90...90).")
    var lat: String?
    @Option(parsing: .unconditional, help: "Longitude, WGS84 degrees (-180...180).")
    var lon: String?
    @Option(help: "Municipality.")
    var municipality: String?
    @Option(help: "The operator (responsible controller).")
    var `operator`: String?
    @Option(help: "Why the camera is there.")
    var purpose: String?
    @Flag(help: "Public or private.")
    var visibility: Visibility?
    @Option(help: "Street address.")
    var address: String?
    @Option(help: "Legal basis of the processing.")
    var legalBasis: String?
    @Option(parsing: .unconditional,
            help: "Days this camera's snapshots and alerts are kept (default 30; above 90 only with --legal-exception).")
    var retentionDays: String?
    @Option(help: "The decree or decision allowing a retention above 90 days (public: shown in the register).")
    var legalException: String?
    @Option(parsing: .unconditional, help: "View direction, compass degrees (0 = north, 0...360).")
    var viewDirection: String?
    @Option(help: "Camera model (private, never exported).")
    var model: String?
    @Option(help: "Firmware version (private, never exported).")
    var firmware: String?
    @Option(help: "User name for the camera (with --password-file).")
    var username: String?
    @Option(help: "File holding the camera password (never a password on the command line).")
    var passwordFile: String?
    @Option(help: "YAML file with this camera's detection overrides, masks and zones (keys as under 'cameras:').")
    var detectionFile: String?
    @Option(help: "The kind of place watched, for the declaration: open, enclosed-public or enclosed-private.")
    var placeType: String?
    @Option(help: "How the camera is installed, for the declaration: fixed, temporary or mobile.")
    var mount: String?
    @Option(help: "Whether the legal pictogram is placed: true or false.")
    var pictogram: String?
    @Option(help: "The data-protection contact the public can reach (public).")
    var contact: String?
    @Option(help: "Date of the last declaration to the authorities, YYYY-MM-DD (renewed every year).")
    var declared: String?

    /// The validated contents of `--detection-file`, to store in the camera record.
    func detectionOverrides(for id: String) throws -> String? {
        guard let detectionFile else { return nil }
        do {
            let text = try TextFile.read(path: detectionFile, what: "detection file")
            _ = try VigilConfig().settings(applying: text, origin: detectionFile)
            return text
        } catch let problem as TextFile.Problem {
            throw Failure(problem.description)
        } catch let error as VigilConfig.LoadError {
            throw Failure(error.description)
        }
    }

    func fields(id: String) throws -> CameraFields {
        var fields = CameraFields()
        let values: [(String, String?)] = [
            ("id", id), ("url", url), ("detect-url", detectURL), ("name", name), ("lat", lat), ("lon", lon),
            ("municipality", municipality), ("operator", `operator`), ("purpose", purpose),
            ("public", visibility.map { $0 == .public ? "true" : "false" }), ("address", address),
            ("legal-basis", legalBasis), ("retention-days", retentionDays), ("view-direction", viewDirection),
            ("model", model), ("firmware", firmware), ("username", username), ("password-file", passwordFile),
            ("place-type", placeType), ("mount", mount), ("pictogram", pictogram), ("contact", contact),
            ("declared", declared), ("legal-exception", legalException),
        ]
        for (field, value) in values where value != nil {
            try fields.set(field, value)
        }
        return fields
    }
}

struct AddCamera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Register a camera.")

    @Argument(help: "Camera id, a slug such as grote-markt-1.")
    var id: String
    @OptionGroup var fields: CameraFieldOptions
    @OptionGroup var registry: RegistryOptions

    func run() async throws {
        try await reportingFailures {
            var entry = try validated { try fields.fields(id: id).camera() }
            entry.camera.detection = try fields.detectionOverrides(for: id)
            try await registry.withRegistry { try await $0.add([entry]) }
            print("added camera \(id)")
        }
    }
}

struct UpdateCamera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Change fields of a camera.")

    @Argument(help: "Camera id.")
    var id: String
    @OptionGroup var fields: CameraFieldOptions
    @OptionGroup var registry: RegistryOptions

    func run() async throws {
        try await reportingFailures {
            try await registry.withRegistry { registry in
                let existing = try await registry.existingCamera(id)
                let given = try fields.fields(id: id)
                var entry = try validated { try given.camera(updating: existing) }
                entry.camera.detection = try fields.detectionOverrides(for: id) ?? existing.detection
                // Stored credentials are replaced only when new ones were given.
                try await registry.update(entry.camera, credentials: entry.credentials.map(Optional.some))
            }
            print("updated camera \(id)")
        }
    }
}

struct RemoveCamera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a camera and its credentials.")

    @OptionGroup var target: CameraIDArguments

    func run() async throws {
        try await reportingFailures {
            try await target.registry.withRegistry { try await $0.remove(id: target.id) }
            print("removed camera \(target.id)")
        }
    }
}

struct EnableCamera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enable", abstract: "Watch a camera again.")

    @OptionGroup var target: CameraIDArguments

    func run() async throws {
        try await reportingFailures { try await target.setEnabled(true) }
    }
}

struct DisableCamera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disable", abstract: "Stop watching a camera.")

    @OptionGroup var target: CameraIDArguments

    func run() async throws {
        try await reportingFailures { try await target.setEnabled(false) }
    }
}

/// The camera id argument, `--state-dir` and `--config`, shared by the commands that act on one camera.
struct CameraIDArguments: ParsableArguments {
    @Argument(help: "Camera id.")
    var id: String
    @OptionGroup var registry: RegistryOptions

    /// Watches the camera again, or stops watching it.
    func setEnabled(_ enabled: Bool) async throws {
        try await registry.withRegistry { registry in
            var record = try await registry.existingCamera(id)
            record.enabled = enabled
            try await registry.update(record, credentials: .none)
        }
        print("\(enabled ? "enabled" : "disabled") camera \(id)")
    }
}

struct ListCameras: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the registered cameras.")

    @OptionGroup var registry: RegistryOptions

    func run() async throws {
        try await reportingFailures {
            let cameras = try await registry.withRegistry(reading: true) { try await $0.cameras() }
            guard !cameras.isEmpty else {
                print("no cameras; add one with 'vigil camera add'")
                return
            }
            let rows = [["ID", "NAME", "ENABLED", "REGISTER", "MUNICIPALITY", "URL"]] + cameras.map {
                [$0.id, $0.name, $0.enabled ? "yes" : "no", $0.isPublic ? "public" : "private", $0.municipality,
                 Redactor.shared.redact(StreamAddress.displayed($0.streamURL))].map(TextFile.escaped)
            }
            let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
            }
        }
    }
}

struct ShowCamera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show every field of a camera.")

    @OptionGroup var target: CameraIDArguments

    func run() async throws {
        try await reportingFailures {
            let (camera, username) = try await target.registry.withRegistry(reading: true) { registry in
                (try await registry.existingCamera(target.id), try await registry.username(cameraID: target.id))
            }
            let formatter = ISO8601DateFormatter()
            let lines: [(String, String?)] = [
                ("id", camera.id), ("name", camera.name), ("url", Redactor.shared.redact(StreamAddress.displayed(camera.streamURL))),
                ("detect-url", camera.detectURL.map { Redactor.shared.redact(StreamAddress.displayed($0)) }),
                ("credentials", username.map { "stored for user \($0)" } ?? "none"),
                ("enabled", camera.enabled ? "yes" : "no"), ("register", camera.isPublic ? "public" : "private"),
                ("lat", "\(camera.latitude)"), ("lon", "\(camera.longitude)"), ("address", camera.address),
                ("municipality", camera.municipality), ("operator", camera.operatorName), ("purpose", camera.purpose),
                ("legal-basis", camera.legalBasis), ("retention-days", camera.retentionDays.map(String.init)),
                ("view-direction", camera.viewDirection.map { "\($0)" }), ("model", camera.model),
                ("firmware", camera.firmware), ("place-type", camera.placeType), ("mount", camera.mount),
                ("pictogram", camera.pictogram.map { $0 ? "placed" : "not placed" }), ("contact", camera.contact),
                ("declared", camera.declared), ("legal-exception", camera.legalException),
                ("detection", camera.detection.map { $0.split(separator: "\n").joined(separator: "; ") }),
                ("created", formatter.string(from: camera.createdAt)),
                ("updated", formatter.string(from: camera.updatedAt)),
            ]
            for (key, value) in lines {
                if let value { print("\(key):".padding(toLength: 16, withPad: " ", startingAt: 0) + TextFile.escaped(value)) }
            }
        }
    }
}

struct ImportCameras: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Register many cameras from a CSV or YAML file, all or nothing."
    )

    @Argument(help: "A .csv file with a header row of field names, or a .yaml list of cameras.")
    var file: String
    @OptionGroup var registry: RegistryOptions

    func run() async throws {
        try await reportingFailures {
            let entries: [(camera: Camera, credentials: CameraCredentials?)]
            do {
                let rows = try CameraImport.read(path: file)
                let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
                entries = try CameraImport.cameras(from: rows, file: URL(fileURLWithPath: file).lastPathComponent,
                                                   directory: directory)
            } catch let problem as CameraImport.Problem {
                throw Failure(problem.description)
            }
            try await registry.withRegistry { try await $0.add(entries) }
            print("imported \(entries.count) camera\(entries.count == 1 ? "" : "s")")
        }
    }
}

struct TestCamera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Connect to a camera and print its codec, size and frame rate."
    )

    @OptionGroup var target: CameraIDArguments
    @Option(parsing: .unconditional, help: "Seconds to wait for the camera (0.1...3600).")
    var timeout: Double = 10

    func validate() throws {
        try checkRange("--timeout", timeout, 0.1...3600, unit: "seconds")
    }

    func run() async throws {
        try await reportingFailures {
            let watched = try await target.registry.withRegistry { registry in
                guard let watched = try await registry.watchList().first(where: { $0.camera.id == target.id }) else {
                    throw RegistryError.unknownCamera(target.id)
                }
                return watched
            }
            if let credentials = watched.credentials {
                Redactor.shared.register(secret: credentials.password, user: credentials.username)
            }
            FFmpegLog.silence()
            for (role, url) in [("stream", watched.streamURL), ("detect stream", watched.detectURL)] {
                guard let url else { continue }
                do throws(MediaError) {
                    let source = try MediaSource(url: url, options: SourceOptions(openTimeout: .seconds(timeout)))
                    _ = try source.nextFrame()
                    let info = source.info
                    let rate = info.framesPerSecond.map { String(format: "%.2f fps", $0) } ?? "unknown frame rate"
                    print("\(target.id) \(role): \(info.codec), \(info.width)x\(info.height), \(rate)")
                } catch {
                    throw Failure("camera \(target.id) \(role): \(explain(error))")
                }
            }
        }
    }

    private func explain(_ error: MediaError) -> String {
        switch error.code {
        case .credentialsRejected: "credentials rejected by the camera; fix them with 'vigil camera update \(target.id) "
            + "--username USER --password-file FILE'"
        case .notFound: "the camera has no stream at this address (\(error.reason)); check --url"
        case .connectionRefused: "connection refused: the camera is down or the port is wrong"
        case .stalled: "no answer within \(timeout.formatted()) s (\(error.reason))"
        default: error.reason
        }
    }
}

extension CameraStore {
    /// The camera, or the registry's one-line error naming the unknown id.
    func existingCamera(_ id: String) async throws(RegistryError) -> Camera {
        guard let camera = try await camera(id: id) else { throw RegistryError.unknownCamera(id) }
        return camera
    }
}

/// Runs field validation, turning a field problem into a one-line failure.
func validated<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let problem as CameraFields.FieldProblem {
        throw Failure(problem.message)
    }
}
