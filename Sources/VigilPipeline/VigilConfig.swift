import Foundation
import VigilDetector
import Yams

/// The YAML config file: the detector's knobs and the reporter's sinks.
///
/// ```yaml
/// detector:
///   pixel_threshold: 15
///   min_area: 0.0008
/// reporter:
///   webhook:
///     url_file: /etc/vigil/webhook-url
/// ```
public struct VigilConfig: Sendable, Equatable {
    public var detector = DetectorConfig()
    public var reporter = ReporterSettings()

    public init() {}

    /// A config file that cannot be used; `description` names the file, the key and what is wrong.
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads and validates a config file. Unknown keys are errors, not silently ignored.
    public static func load(path: String) throws(LoadError) -> VigilConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw LoadError(description: "cannot read config \(path): \(readableReason(error))")
        }
        return try parse(yaml: text, origin: path)
    }

    public static func parse(yaml text: String, origin: String) throws(LoadError) -> VigilConfig {
        var config = VigilConfig()
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw LoadError(description: "config \(origin) is not valid YAML: \(error)")
        }
        guard let root else { return config }
        guard let top = root.mapping else { throw LoadError(description: "config \(origin) must be a mapping") }
        try checkKeys(of: top, allowed: ["detector", "reporter"], in: origin, section: nil)
        if let detector = top["detector"] {
            try checkSection(detector, allowed: DetectorConfig.keys, in: origin, section: "detector")
            config.detector = try decode(DetectorConfig.self, from: detector, in: origin, section: "detector")
            if let problem = config.detector.problem {
                throw LoadError(description: "config \(origin): detector.\(problem)")
            }
        }
        if let reporter = top["reporter"] {
            config.reporter = try parseReporter(reporter, in: origin)
        }
        return config
    }

    private static func parseReporter(_ node: Node, in origin: String) throws(LoadError) -> ReporterSettings {
        let mapping = try checkSection(node, allowed: ReporterSettings.keys, in: origin, section: "reporter")
        var settings = ReporterSettings()
        if let alertLog = mapping["alert_log"] {
            guard let path = alertLog.string, !path.isEmpty else {
                throw LoadError(description: "config \(origin): 'reporter.alert_log' must be a file path")
            }
            settings.alertLog = path
        }
        settings.webhook = try mapping["webhook"].map { node throws(LoadError) in
            try parseHook(node, target: "url_file", in: origin, section: "reporter.webhook")
        }
        settings.exec = try mapping["exec"].map { node throws(LoadError) in
            try parseHook(node, target: "command", in: origin, section: "reporter.exec")
        }
        return settings
    }

    private static func parseHook(_ node: Node, target: String, in origin: String, section: String)
        throws(LoadError) -> HookSettings
    {
        let mapping = try checkSection(node, allowed: [target] + HookSettings.retryKeys, in: origin, section: section)
        guard let value = mapping[target]?.string, !value.isEmpty else {
            throw LoadError(description: "config \(origin): '\(section).\(target)' is required")
        }
        var settings = try decode(HookSettings.self, from: node, in: origin, section: section)
        settings.target = value
        if let problem = settings.problem {
            throw LoadError(description: "config \(origin): \(section).\(problem)")
        }
        return settings
    }

    /// The section's mapping, after checking that it is one and has only `allowed` keys.
    @discardableResult
    private static func checkSection(_ node: Node, allowed: [String], in origin: String, section: String)
        throws(LoadError) -> Node.Mapping
    {
        guard let mapping = node.mapping else {
            throw LoadError(description: "config \(origin): '\(section)' must be a mapping")
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
            throw LoadError(description: "config \(origin): \(section): \(describe(error))")
        }
    }

    private static func checkKeys(of mapping: Node.Mapping, allowed: [String], in origin: String, section: String?)
        throws(LoadError)
    {
        for key in mapping.keys {
            let name = key.string ?? "\(key)"
            if !allowed.contains(name) {
                let place = section.map { "\($0)." } ?? ""
                let line = key.mark.map { " (line \($0.line))" } ?? ""
                throw LoadError(description: "config \(origin)\(line): unknown key '\(place)\(name)'; "
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
            return "'\(key)' has a value of the wrong type"
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
