import Foundation
import Testing
import VigilDetector
import VigilIngest
import VigilPipeline
import VigilTestSupport
import VigilTesting

@Suite("vigil eval on the fixture suite")
struct EvaluationTests {
    @Test("the default detector meets the targets on every fixture clip, untuned: as the daemon decodes (adaptive, no loop filter), every frame without the loop filter, and as replay does by default",
          arguments: [(true, true), (true, false), (false, false)])
    func suiteMeetsTargets(skipLoopFilter: Bool, adaptive: Bool) throws {
        let report = try Evaluation.run(directory: Fixtures.directory.path, skipLoopFilter: skipLoopFilter,
                                        adaptive: adaptive ? AdaptiveDecoding() : nil)
        let overall = report.overall
        #expect(report.clips.count >= 25)
        #expect((overall.recall ?? 0) >= 0.95, "recall \(overall.recall ?? 0)")
        #expect((overall.precision ?? 0) >= 0.95, "precision \(overall.precision ?? 0)")
        #expect(overall.falseAlarms == 0, "\(report.clips.filter { $0.falseAlarms > 0 }.map(\.clip))")
        #expect((overall.timeF1 ?? 0) >= 0.90, "time F1 \(overall.timeF1 ?? 0)")
        #expect((overall.meanOnset ?? 1) <= 0.3, "onset \(overall.meanOnset ?? 1) s")
        #expect(overall.healthExpected >= 4 && overall.healthMatched == overall.healthExpected)
        #expect(overall.healthExtra == 0, "false health alarms: \(report.clips.filter { $0.healthExtra > 0 }.map(\.clip))")
    }

    @Test("adaptive decoding after 1 s of quiet: the same events found, no false alarm, onset at most one GOP later")
    func adaptiveDecodingKeepsQuality() throws {
        let directory = Fixtures.directory.path
        let full = try Evaluation.run(directory: directory, skipLoopFilter: true)
        let adaptive = try Evaluation.run(directory: directory, skipLoopFilter: true,
                                          adaptive: AdaptiveDecoding(quietSeconds: 1))
        let (on, off) = (adaptive.overall, full.overall)
        #expect(off.decodedFraction == 1)
        #expect((on.decodedFraction ?? 1) < 0.85, "adaptive decoding hardly engaged: \(on.decodedFraction ?? 1)")
        #expect(on.recall == off.recall && on.matchedEvents == off.matchedEvents)
        #expect(on.falseAlarms == 0 && on.detectedEvents == off.detectedEvents)
        #expect(on.healthMatched == off.healthMatched && on.healthExtra == 0)
        // The fixtures' GOP is 30 frames at 15 fps: 2 s.
        for (clipOn, clipOff) in zip(adaptive.clips, full.clips) {
            for (late, early) in zip(clipOn.onsetLatencies, clipOff.onsetLatencies) {
                #expect(late - early <= 2.0 + 1e-6, "\(clipOn.clip): onset \(late) s against \(early) s")
            }
        }
    }

    @Test("scores count matches, false alarms, time overlap and onset from the confirmation time")
    func scoring() throws {
        let truth = try JSONDecoder().decode(ClipTruth.self, from: Data("""
            {"clip": "x.mp4", "motion": [[1.0, 3.0], [5.0, 6.0]], "health": [{"kind": "dark", "start": 7, "end": 9}]}
            """.utf8))
        func motion(_ start: Double, _ end: Double, confirmed: Double) -> ReplayEvent {
            let event = MotionEvent(start: start, confirmedAt: confirmed, end: end, peakArea: 0.1, peakTime: start,
                                    frames: 3, box: PixelBox(x: 0, y: 0, width: 8, height: 8), zones: [])
            return ReplayEvent(camera: "x", event: event, zones: [])
        }
        let events = [motion(1.2, 3.0, confirmed: 1.3), motion(8.0, 8.5, confirmed: 8.2),
                      ReplayEvent(camera: "x", health: HealthEvent(kind: .dark, start: 7.1, end: 9))]
        let score = Evaluation.score(events, against: truth)
        #expect(score.truthEvents == 2 && score.detectedEvents == 2 && score.matchedEvents == 1)
        #expect(score.recall == 0.5 && score.precision == 0.5 && score.falseAlarms == 0)
        #expect(abs(score.truePositiveSeconds - 1.8) < 1e-9 && abs(score.falsePositiveSeconds - 0.5) < 1e-9)
        #expect(abs(score.falseNegativeSeconds - 1.2) < 1e-9)
        #expect(abs((score.meanOnset ?? 0) - 0.3) < 1e-9)
        #expect(score.healthMatched == 1 && score.healthExtra == 0)
    }

    @Test("vigil eval prints a row per clip and the overall row")
    func command() throws {
        let output = try runVigil(["eval", Fixtures.directory.path])
        #expect(output.status == 0, "\(output.stderrText)")
        let lines = output.stdoutText.split(separator: "\n")
        #expect(lines.first?.hasPrefix("clip") == true)
        #expect(lines.contains { $0.hasPrefix("shake.mp4") })
        #expect(lines.last?.hasPrefix("overall, every frame") == true, "the daemon's decoding first, then every frame")
        #expect(lines.dropLast().last?.hasPrefix("overall ") == true)
        #expect(!lines.contains { $0.hasPrefix("corrupt.ts") }, "clips without motion truth are skipped")
    }
}
