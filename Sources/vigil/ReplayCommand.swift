import ArgumentParser
import Foundation
import Logging
import VigilDetector
import VigilIngest
import VigilPipeline

/// `vigil replay`: runs a video file through the detector as fast as it decodes and prints one
/// JSON object per finished event. The same input and config always give the same bytes.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a video file through the detector; print events as JSON Lines."
    )

    @Argument(help: "The video file to replay.")
    var path: String

    @Option(help: "A YAML config file with detector settings.")
    var config: String?

    @Option(help: "The camera name in the output (default: the file's base name); its overrides in the config apply.")
    var camera: String?

    @Flag(help: "Print frames decoded and CPU ms per frame for decoding and detection on stderr.")
    var summary = false

    @OptionGroup var decoding: DecodingOptions

    @Flag(help: "Show FFmpeg's own warnings about the input on stderr.")
    var verbose = false

    @Option(help: "SIMD kernels to use: scalar, sse2 or avx2 (default: the best the CPU has).")
    var isa: String?

    func run() throws {
        try reportingFailures {
            let settings = try loadConfig(config)
            let kernels = try kernelISA(named: isa)
            if verbose {
                FFmpegLog.route(to: Logger(label: "vigil.ffmpeg"), level: .warning)
            } else {
                FFmpegLog.silence()
            }
            let name = camera ?? URL(fileURLWithPath: path).lastPathComponent
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let output = FileHandle.standardOutput
            let result: ReplaySummary
            do throws(MediaError) {
                result = try Replay.run(path: path, camera: name, settings: settings.settings(forCamera: camera),
                                        isa: kernels, skipLoopFilter: decoding.skipLoopFilter,
                                        adaptive: decoding.adaptiveDecoding) { event in
                    var line = (try? encoder.encode(event)) ?? Data()
                    line.append(0x0A)
                    output.write(line)
                }
            } catch {
                throw openFailure(error)
            }
            if result.frames == 0 {
                let reason = result.endedEarly.map { ": \($0.reason)" } ?? ""
                throw Failure("\(path): no video frame could be decoded\(reason); is it a video file?")
            }
            if let problem = result.endedEarly {
                printError("vigil: \(path): input ended early after \(result.frames) frames: \(problem.reason)")
            }
            if summary { printSummary(result) }
        }
    }

    /// The line for a file that did not open: what it is, and where to look when FFmpeg refused it.
    private func openFailure(_ error: MediaError) -> Failure {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return Failure("cannot open \(path): it is a directory; pass a video file")
        }
        guard [.invalidData, .other].contains(error.code), access(path, R_OK) == 0 else {
            return Failure("cannot open \(path): \(error.reason)")
        }
        return Failure("cannot open \(path): FFmpeg cannot read it as video (\(error.reason)); "
                       + "--verbose shows FFmpeg's own messages")
    }

    private func printSummary(_ result: ReplaySummary) {
        let frames = max(result.frames, 1)
        let decode = result.decodeSeconds * 1000 / Double(frames)
        let detect = result.detectSeconds * 1000 / Double(frames)
        printError(String(format: "frames %d, decode %.3f ms/frame, detect %.3f ms/frame, corrupt %d, rejected packets %d, "
                          + "packets decoded %d of %d, wake-ups by packet size %d, by keyframe %d, "
                          + "while quiet %.3f ms/frame over %d frames",
                          result.frames, decode, detect, result.corruptFrames, result.rejectedPackets,
                          result.packetsDecoded, result.packetsRead, result.packetWakeUps, result.keyframeWakeUps,
                          result.keyframeModeSeconds * 1000 / Double(max(result.keyframeModePackets, 1)),
                          result.keyframeModePackets))
    }
}

func loadConfig(_ path: String?) throws -> VigilConfig {
    guard let path else { return VigilConfig() }
    do {
        return try VigilConfig.load(path: path)
    } catch {
        throw Failure(error.description)
    }
}

func kernelISA(named name: String?) throws -> KernelISA {
    guard let name else { return .best }
    guard let isa = KernelISA.allCases.first(where: { $0.description.lowercased() == name.lowercased() }) else {
        throw Failure("unknown --isa '\(name)'; use scalar, sse2 or avx2")
    }
    guard isa.isSupported else { throw Failure("this CPU does not support \(isa)") }
    return isa
}
