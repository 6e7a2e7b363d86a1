import Foundation
import VigilTesting
import VigilPipeline

/// The project's fixture clips and their ground truth (`fixtures/NAME.json`).
public enum Fixtures {
    /// The package root, found from this file's location.
    public static let projectRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static let directory = projectRoot.appendingPathComponent("fixtures")

    public static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    /// Every clip that has a ground-truth file.
    public static func all() throws -> [GroundTruth] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }
            .sorted()
            .map { try groundTruth(for: $0) }
    }

    /// Writes the variant of fixture clip `name` (e.g. `one_crossing`) with `seconds` of quiet scene
    /// first into `directory` (`fixtures/generate.py --lead-in`), with keyframes every `gop` frames
    /// when given; returns the clip's path.
    public static func leadInVariant(_ name: String, seconds: Int, gop: Int? = nil,
                                     in directory: TemporaryDirectory) throws -> String {
        try generate(["--lead-in", "\(seconds)", "--out", directory.path, "--clip", name] + (gop.map { ["--gop", "\($0)"] } ?? []))
        return directory.url.appendingPathComponent("\(name).mp4").path
    }

    /// Runs `fixtures/generate.py` with `arguments`; throws its stderr when it fails.
    public static func generate(_ arguments: [String]) throws {
        let output = try runProcess("/usr/bin/python3", [projectRoot.appendingPathComponent("fixtures/generate.py").path] + arguments)
        guard output.status == 0 else { throw SupportError("generate.py \(arguments.first ?? ""): \(output.stderrText)") }
    }

    public static func groundTruth(for jsonName: String) throws -> GroundTruth {
        let data = try Data(contentsOf: directory.appendingPathComponent(jsonName))
        return try JSONDecoder().decode(GroundTruth.self, from: data)
    }
}

/// What a fixture clip contains, as written by `fixtures/generate.py`.
public struct GroundTruth: Decodable, Sendable, CustomStringConvertible {
    public let clip: String
    public let width: Int
    public let height: Int
    public let fps: Double
    public let frames: Int
    /// Motion intervals `[start, end]` in seconds; nil for corrupt clips whose content is undefined.
    public let motion: [[Double]]?
    /// Camera-health states the clip shows; nil when the file predates them (healthy throughout).
    public let health: [ClipTruth.HealthInterval]?
    public let corrupt: Bool

    public var path: String { Fixtures.path(clip) }
    public var description: String { clip }
}
