import Foundation
import VigilDetector
import VigilStore
import Yams

/// The YAML config file: the detection settings every camera starts from (`detector:`),
/// per-camera overrides on top of them (`cameras:`, each key replacing the default's), and the
/// reporter's sinks (`reporter:`):
///
/// ```yaml
/// detector:
///   pixel_threshold: 15
///   min_area: 0.0004
/// cameras:
///   grote-markt-1:
///     min_area: 0.001
///     masks: [[[0, 0], [200, 0], [200, 80], [0, 80]]]
///     zones:
///       - name: crossing
///         polygon: [[100, 200], [540, 200], [540, 360], [100, 360]]
///         min_area: 0.0008
/// reporter:
///   webhook:
///     url_file: /etc/vigil/webhook-url
/// ```
public struct VigilConfig: Sendable, Equatable {
    /// The settings of a camera without overrides.
    public var defaults = CameraDetectionSettings()
    /// Each named camera's settings: the defaults with its overrides applied.
    public var cameras: [String: CameraDetectionSettings] = [:]
    /// Where alerts go besides the alert log.
    public var reporter = ReporterSettings()
    /// The daemon's deadlines, thresholds and queue durability.
    public var daemon = DaemonSettings()
    /// The HTTP surface: health, metrics, API, status and register pages.
    public var http = HTTPSettings()
    /// Fleet mode: the shared PostgreSQL database and this node's name.
    public var cluster = ClusterSettings()
    /// The `detector:` section as written (YAML), for merging overrides that arrive later (the registry's).
    private var defaultsYAML = ""


    public init() {}

    /// The top-level sections a config file may hold.
    public static let sections = ["detector", "cameras", "reporter", "daemon", "http", "cluster"]

    /// The settings for the camera called `name` (the defaults when it has no overrides).
    public func settings(forCamera name: String?) -> CameraDetectionSettings {
        name.flatMap { cameras[$0] } ?? defaults
    }

    /// A config file that cannot be used; `description` names the file, the key and what is wrong,
    /// for people; `code` is for programs. New codes may be added: switch with a `default`.
    public struct LoadError: Error, CustomStringConvertible {
        /// The kind of problem.
        public struct Code: Hashable, Sendable, CustomStringConvertible {
            public let description: String

            /// The file cannot be read.
            public static let cannotRead = Code(description: "cannot read")
            /// The text is not YAML.
            public static let invalidYAML = Code(description: "invalid YAML")
            /// A section is not the mapping (or list) it must be.
            public static let wrongShape = Code(description: "wrong shape")
            /// A key Vigil does not know (a typo, or a key of a newer version).
            public static let unknownKey = Code(description: "unknown key")
            /// A key that must be present is missing.
            public static let missingKey = Code(description: "missing key")
            /// A value of the wrong type or out of its range.
            public static let invalidValue = Code(description: "invalid value")
        }

        public let code: Code
        public let description: String

        public init(_ code: Code, _ description: String) {
            self.code = code
            self.description = description
        }
    }

    /// Reads and validates a config file. Unknown keys are errors, not silently ignored.
    public static func load(path: String) throws(LoadError) -> VigilConfig {
        let text: String
        do {
            text = try TextFile.read(path: path, what: "config")
        } catch {
            throw LoadError(.cannotRead, error.description)
        }
        return try parse(yaml: text, origin: path)
    }

    public static func parse(yaml text: String, origin: String) throws(LoadError) -> VigilConfig {
        var config = VigilConfig()
        let root: Node?
        do {
            root = try TextFile.composeYAML(text)
        } catch {
            throw LoadError(.invalidYAML, "config \(origin) is not valid YAML: \(error)")
        }
        guard let root else { return config }
        guard let top = root.mapping else { throw LoadError(.wrongShape, "config \(origin) must be a mapping") }
        try checkKeys(of: top, allowed: sections, in: origin, section: nil)
        let defaults = try settingsMapping(top["detector"], in: origin, section: "detector")
        config.defaults = try decodeSettings(defaults, in: origin, section: "detector")
        config.defaultsYAML = (try? Yams.serialize(node: .mapping(defaults))) ?? ""
        if let cameras = top["cameras"] {
            guard let mapping = cameras.mapping else {
                throw LoadError(.wrongShape, "config \(origin): 'cameras' must be a mapping of camera names")
            }
            for (key, value) in mapping {
                let name = key.string ?? "\(key)"
                let section = "cameras.\(TextFile.quoted(name))"
                let overrides = try settingsMapping(value, in: origin, section: section)
                config.cameras[name] = try decodeSettings(merging: overrides, onto: defaults, in: origin,
                                                          section: section)
            }
        }
        if let reporter = top["reporter"] {
            config.reporter = try parseReporter(reporter, in: origin)
        }
        if let daemon = top["daemon"] {
            config.daemon = try parseDaemon(daemon, in: origin)
        }
        if let http = top["http"] {
            try checkSection(http, allowed: HTTPSettings.keys, in: origin, section: "http")
            config.http = try decode(HTTPSettings.self, from: http, in: origin, section: "http")
            if let problem = config.http.problem {
                throw LoadError(.invalidValue, "config \(origin): http.\(problem)")
            }
        }
        if let cluster = top["cluster"] {
            try checkSection(cluster, allowed: ClusterSettings.keys, in: origin, section: "cluster")
            config.cluster = try decode(ClusterSettings.self, from: cluster, in: origin, section: "cluster")
            if let problem = config.cluster.problem {
                throw LoadError(.invalidValue, "config \(origin): cluster.\(problem)")
            }
        }
        return config
    }

    /// The settings of a camera whose registry record carries `overrides` (YAML in the form of a
    /// `cameras:` entry): the config's defaults with those keys replaced. Used to validate overrides
    /// before they are stored, and by the daemon; `origin` names where they came from in errors.
    public func settings(applying overrides: String, origin: String) throws(LoadError) -> CameraDetectionSettings {
        let node: Node?
        do {
            node = try TextFile.composeYAML(overrides)
        } catch {
            throw LoadError(.invalidYAML, "\(origin) is not valid YAML: \(error)")
        }
        let mapping = try Self.settingsMapping(node, in: origin, section: "detection")
        let defaults = (try? Yams.compose(yaml: defaultsYAML))?.mapping ?? Node.Mapping([])
        return try Self.decodeSettings(merging: mapping, onto: defaults, in: origin, section: "detection")
    }

    /// A settings section as a mapping whose keys are all known (an absent section is empty).
    private static func settingsMapping(_ node: Node?, in origin: String, section: String) throws(LoadError)
        -> Node.Mapping
    {
        guard let node else { return Node.Mapping([]) }
        guard let mapping = node.mapping else {
            throw LoadError(.wrongShape, "config \(origin): '\(section)' must be a mapping")
        }
        try checkKeys(of: mapping, allowed: CameraDetectionSettings.keys, in: origin, section: section)
        for (index, zone) in (mapping["zones"]?.sequence ?? []).enumerated() {
            guard let zoneMapping = zone.mapping else {
                throw LoadError(.wrongShape, "config \(origin): '\(section).zones' must be a list of mappings")
            }
            try checkKeys(of: zoneMapping, allowed: DetectionZone.keys, in: origin, section: "\(section).zones[\(index)]")
        }
        return mapping
    }

    /// `overrides` on top of `defaults`: each key present in `overrides` replaces the default's value.
    private static func decodeSettings(merging overrides: Node.Mapping, onto defaults: Node.Mapping, in origin: String,
                                       section: String) throws(LoadError) -> CameraDetectionSettings
    {
        let kept = defaults.filter { key, _ in overrides[key] == nil }
        return try decodeSettings(Node.Mapping(Array(kept) + Array(overrides)), in: origin, section: section)
    }

    private static func decodeSettings(_ mapping: Node.Mapping, in origin: String, section: String)
        throws(LoadError) -> CameraDetectionSettings
    {
        let settings: CameraDetectionSettings
        do {
            settings = try YAMLDecoder().decode(CameraDetectionSettings.self, from: Node.mapping(mapping))
        } catch {
            throw LoadError(.invalidValue, "config \(origin): \(section): \(describe(error))")
        }
        if let problem = settings.problem {
            throw LoadError(.invalidValue, "config \(origin): \(section).\(problem)")
        }
        return settings
    }

    private static func parseDaemon(_ node: Node, in origin: String) throws(LoadError) -> DaemonSettings {
        let mapping = try checkSection(node, allowed: DaemonSettings.keys, in: origin, section: "daemon")
        if let cameras = mapping["cameras"] {
            let cameraMapping = try checkSection(cameras, allowed: cameras.mapping?.keys.compactMap(\.string) ?? [],
                                                 in: origin, section: "daemon.cameras")
            for (key, value) in cameraMapping {
                try checkSection(value, allowed: DaemonSettings.CameraTiming.keys, in: origin,
                                 section: "daemon.cameras.\(TextFile.quoted(key.string ?? "\(key)"))")
            }
        }
        let settings = try decode(DaemonSettings.self, from: node, in: origin, section: "daemon")
        if let problem = settings.problem {
            throw LoadError(.invalidValue, "config \(origin): daemon.\(problem)")
        }
        return settings
    }

    private static func parseReporter(_ node: Node, in origin: String) throws(LoadError) -> ReporterSettings {
        let mapping = try checkSection(node, allowed: ReporterSettings.keys, in: origin, section: "reporter")
        var settings = ReporterSettings()
        if let alertLog = mapping["alert_log"] {
            guard let path = TextFile.yamlString(alertLog), !path.isEmpty else {
                throw LoadError(.invalidValue, "config \(origin): 'reporter.alert_log' must be a file path")
            }
            settings.alertLog = path
        }
        settings.webhook = try mapping["webhook"].map { node throws(LoadError) in
            try parseHook(node, target: ReporterSettings.webhookTargetKey, in: origin, section: "reporter.webhook")
        }
        settings.exec = try mapping["exec"].map { node throws(LoadError) in
            try parseHook(node, target: ReporterSettings.execTargetKey, in: origin, section: "reporter.exec")
        }
        return settings
    }

    private static func parseHook(_ node: Node, target: String, in origin: String, section: String)
        throws(LoadError) -> HookSettings
    {
        let mapping = try checkSection(node, allowed: [target] + HookSettings.retryKeys, in: origin, section: section)
        guard let value = mapping[target].flatMap(TextFile.yamlString), !value.isEmpty else {
            throw LoadError(.missingKey, "config \(origin): '\(section).\(target)' is required")
        }
        var settings = try decode(HookSettings.self, from: node, in: origin, section: section)
        settings.target = value
        if let problem = settings.problem {
            throw LoadError(.invalidValue, "config \(origin): \(section).\(problem)")
        }
        return settings
    }

    /// The section's mapping, after checking that it is one and has only `allowed` keys.
    @discardableResult
    private static func checkSection(_ node: Node, allowed: [String], in origin: String, section: String)
        throws(LoadError) -> Node.Mapping
    {
        guard let mapping = node.mapping else {
            throw LoadError(.wrongShape, "config \(origin): '\(section)' must be a mapping")
        }
        try checkKeys(of: mapping, allowed: allowed, in: origin, section: section)
        return mapping
    }

    private static func decode<T: Decodable>(_ type: T.Type, from node: Node, in origin: String, section: String)
        throws(LoadError) -> T
    {
        do {
            return try YAMLDecoder().decode(type, from: node)
        } catch {
            throw LoadError(.invalidValue, "config \(origin): \(section): \(describe(error))")
        }
    }

    private static func checkKeys(of mapping: Node.Mapping, allowed: [String], in origin: String, section: String?)
        throws(LoadError)
    {
        for key in mapping.keys {
            let name = key.string ?? "\(key)"
            if !allowed.contains(name) {
                let name = TextFile.quoted(name)
                let place = section.map { "\($0)." } ?? ""
                let line = key.mark.map { " (line \($0.line))" } ?? ""
                throw LoadError(.unknownKey, "config \(origin)\(line): unknown key '\(place)\(name)'; "
                                + "known keys: \(allowed.joined(separator: ", "))")
            }
        }
    }

    private static func describe(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        switch decoding {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
             .dataCorrupted(let context):
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "'\(TextFile.quoted(key))' has a value of the wrong type"
        @unknown default:
            return "\(error)"
        }
    }
}

/// The system's short text for a file error ("No such file or directory").
public func readableReason(_ error: any Error) -> String {
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    if nsError.domain == NSCocoaErrorDomain {
        switch nsError.code {
        case NSFileReadNoSuchFileError: return "No such file or directory"
        case NSFileReadNoPermissionError: return "Permission denied"
        default: break
        }
    }
    return nsError.localizedDescription
}
