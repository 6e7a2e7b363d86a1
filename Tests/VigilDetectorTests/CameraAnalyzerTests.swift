import Testing
import VigilDetector
import VigilPipeline
import VigilTesting

/// The per-camera analysis the daemon and `vigil replay` share, fed by a camera without FFmpeg.
@Suite("camera analyzer on frames from a fake source")
struct CameraAnalyzerTests {
    /// A small picture keeps the debug build's rendering quick (where the walker's size does not matter).
    static func camera() -> FakeFrameSource {
        FakeFrameSource(width: 320, height: 180)
    }

    static func analyzer() -> CameraAnalyzer {
        CameraAnalyzer(settings: CameraDetectionSettings(), nominalFrameRate: 15)
    }

    @Test("a person crossing after 2 s of empty scene is one event, started and ended at the crossing's times")
    func crossingIsOneEvent() {
        let analyzer = Self.analyzer()
        var camera = FakeFrameSource()
        let quiet = camera.feed(analyzer, frames: 30)
        // 3 s of walking (12 px a frame), then 2 s of empty scene again.
        let crossing = camera.feed(analyzer, frames: 75) { $0 < 45 ? [walker(at: $0)] : [] }
        #expect(quiet.isEmpty, "\(quiet)")
        let started = crossing.compactMap(\.output.motionStarted)
        let ended = crossing.compactMap(\.output.motionEnded)
        #expect(started.count == 1 && ended.count == 1, "\(crossing)")
        // Media times: the walker is there from 2.0 s to 5.0 s.
        #expect(abs((started.first?.start ?? 0) - 2.0) < 0.3, "\(started)")
        #expect(abs((ended.first?.end ?? 0) - 5.0) < 0.3, "\(ended)")
        #expect(analyzer.analysedFrames == 105 && analyzer.corruptFrames == 0)
        #expect(abs(analyzer.mediaTime - 104.0 / 15) < 1e-6)
    }

    @Test("frames the decoder flagged as damaged are skipped: a smear on them raises nothing")
    func corruptFramesAreSkipped() {
        let smear = Patch(x: 50, y: 40, width: 150, height: 80, value: 250)
        let analyzer = Self.analyzer()
        var camera = Self.camera()
        _ = camera.feed(analyzer, frames: 30)
        var outputs = (0..<15).map { _ in camera.feed(analyzer, patches: [smear], isCorrupt: true) }
        outputs += camera.feed(analyzer, frames: 30).map(\.output)
        #expect(outputs.allSatisfy { $0.isEmpty }, "\(outputs)")
        #expect(analyzer.corruptFrames == 15 && analyzer.analysedFrames == 60)
        // The same smear on frames not flagged is motion: the skip is what kept it quiet.
        let control = Self.analyzer()
        var other = Self.camera()
        _ = other.feed(control, frames: 30)
        let seen = other.feed(control, frames: 15) { _ in [smear] }
        #expect(seen.contains { $0.output.motionStarted != nil }, "\(seen)")
    }
}
