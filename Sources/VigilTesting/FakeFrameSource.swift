import VigilDetector
import VigilIngest
import VigilPipeline

/// A camera without FFmpeg: renders a `SyntheticScene` and hands each picture to a
/// `CameraAnalyzer` as a decoded frame, with presentation times at `framesPerSecond`, so tests
/// drive the whole per-camera analysis (media clock, corrupt frames, detection) in microseconds.
public struct FakeFrameSource {
    public var scene: SyntheticScene
    public let framesPerSecond: Double
    /// Frames produced so far; the next frame's presentation time is `frameIndex / framesPerSecond`.
    public private(set) var frameIndex = 0

    public init(width: Int = 640, height: Int = 360, framesPerSecond: Double = 15) {
        scene = SyntheticScene(width: width, height: height)
        self.framesPerSecond = framesPerSecond
    }

    /// The presentation time the next frame will carry.
    public var nextPresentationTime: Double { Double(frameIndex) / framesPerSecond }

    /// Renders the next picture with `patches` on the background and passes it to `analyzer`;
    /// `isCorrupt` marks it as a picture the decoder flagged as damaged. Returns the analyzer's output.
    public mutating func feed(_ analyzer: CameraAnalyzer, patches: [Patch] = [], isKeyframe: Bool = false,
                              isCorrupt: Bool = false) -> AnalyzerOutput {
        scene.render(patches: patches)
        let time = nextPresentationTime
        frameIndex += 1
        let (width, height) = (scene.width, scene.height)
        return scene.pixels.withUnsafeBufferPointer {
            analyzer.process(DecodedFrame(luma: $0.baseAddress!, lumaStride: width, width: width, height: height,
                                          presentationTime: time, isKeyframe: isKeyframe, isCorrupt: isCorrupt,
                                          packetSize: width * height / 20))
        }
    }

    /// Feeds `count` frames, the patches of each given by `patches(i)` for i in 0..<count; returns
    /// every non-empty output with the index of the frame that produced it.
    public mutating func feed(_ analyzer: CameraAnalyzer, frames count: Int,
                              patches: (Int) -> [Patch] = { _ in [] }) -> [(frame: Int, output: AnalyzerOutput)] {
        (0..<count).compactMap { step in
            let output = feed(analyzer, patches: patches(step))
            return output.isEmpty ? nil : (step, output)
        }
    }
}
