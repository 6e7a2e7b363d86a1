import ArgumentParser
import Foundation
import VigilDetector
import VigilIngest
import VigilPipeline

#if canImport(Glibc)
import Glibc
#endif

/// `vigil bench`: CPU per frame of decoding alone (FFmpeg's own command line), of the full replay
/// path, of the detector alone and of a plain copy of one luma plane, measured in one run; with
/// `--quiet` and `--suite`, what adaptive decoding saves on a quiet scene and what it costs in
/// detection quality and onset.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure CPU per frame: ffmpeg decode-only vs vigil replay vs the detector alone."
    )

    @Argument(help: "The video file to measure (for example a 1080p15 H.264 clip).")
    var path: String

    @Option(help: "Frames kept in memory for the detector-alone measurement.")
    var detectorFrames = 60

    @Option(help: "Times each measurement is repeated; the fastest run counts.")
    var repeats = 3

    @Option(name: .customLong("quiet"), help: "A clip of a quiet scene: CPU of adaptive decoding against every frame.")
    var quietClip: String?

    @Option(name: .customLong("suite"),
            help: "A folder of clips with ground truth: vigil eval with adaptive decoding off and on (repeatable).")
    var suites: [String] = []

    func validate() throws {
        try checkRange("--detector-frames", detectorFrames, 1...10_000)
        try checkRange("--repeats", repeats, 1...100)
    }

    func run() throws {
        try reportingFailures {
            let info = try probe()
            let decodeOnly = try bestOf { try childCPUSeconds("/usr/bin/ffmpeg", [
                "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", path, "-f", "null", "-",
            ]) }
            let replay = try bestOf { try childCPUSeconds(CommandLine.arguments[0], ["replay", path]) }
            let replayWithoutLoopFilter = try bestOf {
                try childCPUSeconds(CommandLine.arguments[0], ["replay", "--skip-loop-filter", path])
            }
            let frames = Double(info.frames)
            let planes = try loadPlanes()
            print("clip: \(path) (\(info.width)x\(info.height), \(info.frames) frames, "
                  + String(format: "%.0f fps", info.fps) + ")")
            print("measured: CPU time (user + system), best of \(repeats)\n")
            let reference = decodeOnly / frames * 1000
            func row(_ label: String, _ milliseconds: Double) {
                print(label.padding(toLength: 44, withPad: " ", startingAt: 0)
                      + String(format: "%8.3f ms/frame   %6.3fx decode", milliseconds, milliseconds / reference))
            }
            row("ffmpeg -threads 1 decode only (reference)", reference)
            row("vigil replay (decode + detect + events)", replay / frames * 1000)
            row("vigil replay, skip_loop_filter", replayWithoutLoopFilter / frames * 1000)
            for isa in KernelISA.allCases where isa.isSupported {
                row("detector alone, \(isa)", detectorMilliseconds(planes, isa: isa))
            }
            row("memcpy of one luma plane", copyMilliseconds(planes))
            row("snapshot JPEG, box outlined (per event)", try snapshotMilliseconds())
            if let quietClip { try benchQuietScene(quietClip) }
            if !suites.isEmpty { try compareOnSuites() }
        }
    }

    /// CPU per frame of a quiet scene replayed as the daemon decodes it: every frame, adaptive over
    /// the whole clip (its first seconds decoded in full while the quiet is learned), and adaptive
    /// while the scene is quiet (keyframe checks: what a quiet camera costs once it runs).
    private func benchQuietScene(_ clip: String) throws {
        let adaptive: ReplaySummary
        do {
            adaptive = try Replay.run(path: clip, camera: "quiet", settings: CameraDetectionSettings(),
                                      skipLoopFilter: true, adaptive: AdaptiveDecoding()) { _ in }
        } catch {
            throw Failure("cannot open \(clip): \(error.reason)")
        }
        let frames = Double(adaptive.packetsRead)
        let everyFrame = try bestOf { try childCPUSeconds(CommandLine.arguments[0], ["replay", "--skip-loop-filter", clip]) }
        let adaptiveOverall = try bestOf {
            try childCPUSeconds(CommandLine.arguments[0], ["replay", "--skip-loop-filter", "--adaptive", clip])
        }
        print("\nadaptive decoding on a quiet scene: \(clip) (\(adaptive.packetsRead) frames), skip_loop_filter as in the daemon")
        let reference = everyFrame / frames * 1000
        let quietFrames = max(adaptive.keyframeModePackets, 1)
        for (label, milliseconds) in [
            ("vigil replay, every frame", reference),
            ("vigil replay --adaptive, whole clip", adaptiveOverall / frames * 1000),
            ("  of which while quiet (\(adaptive.keyframeModePackets) frames)",
             adaptive.keyframeModeSeconds / Double(quietFrames) * 1000),
        ] {
            print(label.padding(toLength: 44, withPad: " ", startingAt: 0)
                  + String(format: "%8.3f ms/frame   %6.3fx every frame", milliseconds, milliseconds / reference))
        }
        print("packets decoded \(adaptive.packetsDecoded) of \(adaptive.packetsRead); wake-ups by packet size "
              + "\(adaptive.packetWakeUps), by a keyframe \(adaptive.keyframeWakeUps)")
    }

    /// Detection quality and onset on each suite with every frame decoded, then adaptive decoding
    /// after the default quiet time and after 1 s (so that it engages even on short clips).
    private func compareOnSuites() throws {
        print("\nadaptive decoding against every frame: vigil eval, skip_loop_filter as in the daemon")
        print(benchRow(["suite", "decoding", "recall", "precision", "false alarms", "health", "onset ms",
                        "added ms mean (max)", "decoded"]))
        for suite in suites {
            let name = URL(fileURLWithPath: suite).lastPathComponent
            let full = try evaluate(suite, adaptive: nil)
            print(benchRow(cells(name, "every frame", full.overall, added: nil)))
            for quiet in [AdaptiveDecoding().quietSeconds, 1] {
                let adaptive = try evaluate(suite, adaptive: AdaptiveDecoding(quietSeconds: quiet))
                var added: [Double] = []
                for (on, off) in zip(adaptive.clips, full.clips) {
                    added += zip(on.onsetLatencies, off.onsetLatencies).map { $0 - $1 }
                }
                print(benchRow(cells(name, String(format: "adaptive %.0f s", quiet), adaptive.overall, added: added)))
            }
        }
    }

    private func evaluate(_ suite: String, adaptive: AdaptiveDecoding?) throws -> EvaluationReport {
        do throws(Evaluation.Failure) {
            return try Evaluation.run(directory: suite, skipLoopFilter: true, adaptive: adaptive)
        } catch {
            throw Failure(error.description)
        }
    }

    private func cells(_ suite: String, _ mode: String, _ score: ClipScore, added: [Double]?) -> [String] {
        let addedText = added.map { values in
            values.isEmpty ? "-" : String(format: "%.0f (%.0f)", values.reduce(0, +) / Double(values.count) * 1000,
                                          (values.max() ?? 0) * 1000)
        } ?? "-"
        return [suite, mode, scoreText(score.recall), scoreText(score.precision), "\(score.falseAlarms)",
                score.healthText, score.meanOnset.map { String(format: "%.0f", $0 * 1000) } ?? "-", addedText,
                percentText(score.decodedFraction)]
    }

    private func benchRow(_ cells: [String]) -> String {
        tableRow(cells, widths: [14, 14, 7, 10, 13, 7, 9, 20, 8])
    }

    private struct ClipInfo {
        var width = 0, height = 0, frames = 0
        var fps = 0.0
    }

    private func probe() throws -> ClipInfo {
        var info = ClipInfo()
        do {
            let summary = try Replay.run(path: path, camera: "bench", settings: CameraDetectionSettings()) { _ in }
            info.frames = summary.frames
            let source = try MediaSource(url: path)
            info.width = source.info.width
            info.height = source.info.height
            info.fps = source.info.framesPerSecond ?? 0
        } catch {
            throw Failure("cannot open \(path): \(error.reason)")
        }
        guard info.frames > 0 else { throw Failure("\(path) has no video frames") }
        return info
    }

    private func bestOf(_ measure: () throws -> Double) rethrows -> Double {
        var best = Double.infinity
        for _ in 0..<max(repeats, 1) { best = min(best, try measure()) }
        return best
    }

    /// Copies of the first frames' luma planes, so the detector can be timed without decoding.
    private func loadPlanes() throws -> [[UInt8]] {
        var planes: [[UInt8]] = []
        do {
            let source = try MediaSource(url: path)
            while planes.count < detectorFrames, let frame = try? source.nextFrame() {
                var plane = [UInt8](repeating: 0, count: frame.width * frame.height)
                for row in 0..<frame.height {
                    plane.withUnsafeMutableBufferPointer {
                        ($0.baseAddress! + row * frame.width).update(from: frame.luma + row * frame.lumaStride,
                                                                     count: frame.width)
                    }
                }
                planes.append(plane)
            }
        } catch {
            throw Failure("cannot open \(path): \(error.reason)")
        }
        return planes
    }

    private var planeSize: (width: Int, height: Int) {
        (try? MediaSource(url: path)).map { ($0.info.width, $0.info.height) } ?? (0, 0)
    }

    private func detectorMilliseconds(_ planes: [[UInt8]], isa: KernelISA) -> Double {
        let (width, height) = planeSize
        return bestOf {
            let detection = CameraDetector(isa: isa)
            let start = threadCPUTime()
            let rounds = 5
            for round in 0..<rounds {
                for (index, plane) in planes.enumerated() {
                    plane.withUnsafeBufferPointer {
                        let luma = LumaPlane(base: $0.baseAddress!, stride: width, width: width, height: height)
                        _ = detection.process(luma, at: Double(round * planes.count + index) / 15)
                    }
                }
            }
            return (threadCPUTime() - start) * 1000 / Double(rounds * planes.count)
        }
    }

    /// CPU to encode one motion snapshot (the event's peak frame as a JPEG with its box outlined):
    /// paid once per event, not per frame.
    private func snapshotMilliseconds() throws -> Double {
        var snapshot = LumaSnapshot()
        do {
            snapshot.copy(from: try MediaSource(url: path).nextFrame())
        } catch {
            throw Failure("cannot open \(path): \(error.reason)")
        }
        let box = PixelBox(x: snapshot.width / 4, y: snapshot.height / 4, width: snapshot.width / 2,
                           height: snapshot.height / 2)
        return try bestOf {
            let start = threadCPUTime()
            let rounds = 5
            for _ in 0..<rounds {
                do throws(MediaError) {
                    _ = try snapshot.jpeg(box: box)
                } catch {
                    throw Failure("cannot encode a snapshot of \(path): \(error.reason)")
                }
            }
            return (threadCPUTime() - start) * 1000 / Double(rounds)
        }
    }

    private func copyMilliseconds(_ planes: [[UInt8]]) -> Double {
        var target = [UInt8](repeating: 0, count: planes[0].count)
        return bestOf {
            let start = threadCPUTime()
            let rounds = 5
            for _ in 0..<rounds {
                for plane in planes {
                    target.withUnsafeMutableBytes { destination in
                        plane.withUnsafeBytes { destination.copyMemory(from: $0) }
                    }
                }
            }
            return (threadCPUTime() - start) * 1000 / Double(rounds * planes.count)
        }
    }
}

/// CPU seconds (user + system) a child process used, from the kernel's accounting of waited-for children.
func childCPUSeconds(_ executable: String, _ arguments: [String]) throws -> Double {
    func childrenCPU() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    let before = childrenCPU()
    do {
        try process.run()
    } catch {
        throw Failure("cannot run \(executable): \(error.localizedDescription)")
    }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw Failure("\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }
    return childrenCPU() - before
}
