import Foundation
import VigilDetector
import Yams

/// The YAML config file. Today it holds the detector's knobs:
///
/// ```yaml
/// detector:
///   pixel_threshold: 15
///   min_area: 0.0008
/// ```
public struct VigilConfig: Sendable, Equatable {
    public var detector = DetectorConfig()

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
        try checkKeys(of: top, allowed: ["detector"], in: origin, section: nil)
        if let detector = top["detector"] {
            guard let mapping = detector.mapping else {
                throw LoadError(description: "config \(origin): 'detector' must be a mapping")
            }
            try checkKeys(of: mapping, allowed: DetectorConfig.keys, in: origin, section: "detector")
            do {
                config.detector = try YAMLDecoder().decode(DetectorConfig.self, from: detector)
            } catch {
                throw LoadError(description: "config \(origin): detector: \(describe(error))")
            }
            if let problem = config.detector.problem {
                throw LoadError(description: "config \(origin): detector.\(problem)")
            }
        }
        return config
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
func readableReason(_ error: any Error) -> String {
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
