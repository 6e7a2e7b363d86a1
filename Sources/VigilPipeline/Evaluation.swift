import Foundation
import VigilDetector
import VigilIngest

/// The ground truth of one clip (`NAME.json` beside it, written by `fixtures/generate.py`).
public struct ClipTruth: Decodable, Sendable {
    /// A health state the clip shows.
    public struct HealthInterval: Decodable, Sendable {
        public let kind: String
        public let start: Double
        public let end: Double
    }

    /// The clip's file name, beside the JSON.
    public let clip: String
    /// Motion intervals `[start, end]` in seconds; nil when the clip's content is undefined (corrupt).
    public let motion: [[Double]]?
    /// Health states; nil or empty when the camera is healthy throughout.
    public let health: [HealthInterval]?
}

/// How a replay of one clip (or of a whole suite, pooled) compares with the ground truth.
public struct ClipScore: Sendable {
    public var clip: String
    /// Motion events in the truth, found by the detector, and matched one-to-one (overlapping in time).
    public var truthEvents = 0
    public var detectedEvents = 0
    public var matchedEvents = 0
    /// Motion events reported on clips whose truth has no motion at all.
    public var falseAlarms = 0
    /// Seconds labelled motion by both, by the detector only, and by the truth only.
    public var truePositiveSeconds = 0.0
    public var falsePositiveSeconds = 0.0
    public var falseNegativeSeconds = 0.0
    /// For each matched event: when its alert was raised (confirmed, plus any catch-up of adaptive
    /// decoding) minus the true start, in seconds.
    public var onsetLatencies: [Double] = []
    /// Health states in the truth, matched (same kind, overlapping), and reported without a match.
    public var healthExpected = 0
    public var healthMatched = 0
    public var healthExtra = 0
    /// Video packets demuxed and handed to the decoder (fewer with adaptive decoding).
    public var packetsRead = 0
    public var packetsDecoded = 0

    public init(clip: String) {
        self.clip = clip
    }

    /// Matched / truth events; nil without truth events.
    public var recall: Double? { truthEvents == 0 ? nil : Double(matchedEvents) / Double(truthEvents) }
    /// Matched / detected events; nil without detections.
    public var precision: Double? { detectedEvents == 0 ? nil : Double(matchedEvents) / Double(detectedEvents) }
    /// F1 of motion time: 2 TP / (2 TP + FP + FN); nil when neither side has any motion.
    public var timeF1: Double? {
        let denominator = 2 * truePositiveSeconds + falsePositiveSeconds + falseNegativeSeconds
        return denominator == 0 ? nil : 2 * truePositiveSeconds / denominator
    }
    /// Packets decoded / packets read; nil without packets.
    public var decodedFraction: Double? { packetsRead == 0 ? nil : Double(packetsDecoded) / Double(packetsRead) }
    /// Mean onset latency in seconds; nil without matched events.
    public var meanOnset: Double? {
        onsetLatencies.isEmpty ? nil : onsetLatencies.reduce(0, +) / Double(onsetLatencies.count)
    }

    /// Adds another clip's counts (for the pooled suite score).
    mutating func add(_ other: ClipScore) {
        truthEvents += other.truthEvents
        detectedEvents += other.detectedEvents
        matchedEvents += other.matchedEvents
        falseAlarms += other.falseAlarms
        truePositiveSeconds += other.truePositiveSeconds
        falsePositiveSeconds += other.falsePositiveSeconds
        falseNegativeSeconds += other.falseNegativeSeconds
        onsetLatencies += other.onsetLatencies
        healthExpected += other.healthExpected
        healthMatched += other.healthMatched
        healthExtra += other.healthExtra
        packetsRead += other.packetsRead
        packetsDecoded += other.packetsDecoded
    }
}

/// The scores of every clip of a suite and the pooled total.
public struct EvaluationReport: Sendable {
    public var clips: [ClipScore] = []
    public var overall = ClipScore(clip: "overall")
}

/// Replays clips with ground truth and scores the events against it (`vigil eval`).
public enum Evaluation {
    /// A problem with the suite itself (unreadable truth, a clip that does not open).
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Replays every clip in `directory` whose `NAME.json` gives motion ground truth (clips with
    /// `"motion": null` are skipped), in name order, with `settings`.
    public static func run(directory: String, settings: CameraDetectionSettings = CameraDetectionSettings(),
                           isa: KernelISA = .best, skipLoopFilter: Bool = false,
                           adaptive: AdaptiveDecoding? = nil) throws(Failure) -> EvaluationReport
    {
        let folder = URL(fileURLWithPath: directory)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw Failure(description: "cannot read \(directory): \(readableReason(error))")
        }
        var report = EvaluationReport()
        for name in names {
            let truth: ClipTruth
            do {
                truth = try JSONDecoder().decode(ClipTruth.self, from: Data(contentsOf: folder.appendingPathComponent(name)))
            } catch {
                throw Failure(description: "\(name) is not ground truth: \(error)")
            }
            guard truth.motion != nil else { continue }
            var events: [ReplayEvent] = []
            let path = folder.appendingPathComponent(truth.clip).path
            let summary: ReplaySummary
            do {
                summary = try Replay.run(path: path, camera: truth.clip, settings: settings, isa: isa,
                                         skipLoopFilter: skipLoopFilter, adaptive: adaptive) { events.append($0) }
            } catch {
                throw Failure(description: "cannot replay \(path): \(error.reason)")
            }
            var score = score(events, against: truth)
            score.packetsRead = summary.packetsRead
            score.packetsDecoded = summary.packetsDecoded
            report.clips.append(score)
            report.overall.add(score)
        }
        return report
    }

    /// Scores one clip's replayed events against its truth.
    public static func score(_ events: [ReplayEvent], against truth: ClipTruth) -> ClipScore {
        var score = ClipScore(clip: truth.clip)
        let expected = (truth.motion ?? []).map { (start: $0[0], end: $0[1]) }
        let motion = events.filter { $0.kind == "motion" }
        score.truthEvents = expected.count
        score.detectedEvents = motion.count
        if expected.isEmpty { score.falseAlarms = motion.count }
        var used = Set<Int>()
        for interval in expected {
            guard let index = motion.indices.first(where: {
                !used.contains($0) && overlap(interval, (motion[$0].start, motion[$0].end)) > 0
            }) else { continue }
            used.insert(index)
            score.matchedEvents += 1
            let raised = motion[index].raised ?? motion[index].confirmed ?? motion[index].start
            score.onsetLatencies.append(raised - interval.start)
        }
        let truthSeconds = expected.reduce(0) { $0 + $1.end - $1.start }
        let detectedSeconds = motion.reduce(0) { $0 + $1.end - $1.start }
        score.truePositiveSeconds = expected.reduce(0) { total, interval in
            total + motion.reduce(0) { $0 + overlap(interval, ($1.start, $1.end)) }
        }
        score.falsePositiveSeconds = detectedSeconds - score.truePositiveSeconds
        score.falseNegativeSeconds = truthSeconds - score.truePositiveSeconds
        let health = events.filter { $0.kind != "motion" }
        let expectedHealth = truth.health ?? []
        var usedHealth = Set<Int>()
        for interval in expectedHealth {
            if let index = health.indices.first(where: {
                !usedHealth.contains($0) && health[$0].kind == interval.kind
                    && overlap((interval.start, interval.end), (health[$0].start, health[$0].end)) > 0
            }) {
                usedHealth.insert(index)
            }
        }
        score.healthExpected = expectedHealth.count
        score.healthMatched = usedHealth.count
        score.healthExtra = health.count - usedHealth.count
        return score
    }

    private static func overlap(_ a: (start: Double, end: Double), _ b: (start: Double, end: Double)) -> Double {
        max(0, min(a.end, b.end) - max(a.start, b.start))
    }
}
