/// Maps presentation timestamps to a steady media time that starts at 0 on the first frame.
///
/// Streams are not tidy: concatenated files restart their timestamps, cameras jump after a
/// reconnect, some streams carry none. A step backwards, a missing timestamp or a jump beyond
/// `maxStep` advances the clock by one nominal frame interval instead, and is reported as a
/// discontinuity so the detector does not compare frames across the gap.
public struct MediaClock: Sendable {
    public let maxStep: Double
    private var lastPresentation: Double?
    private var frameInterval: Double
    public private(set) var time: Double?

    public init(nominalFrameRate: Double?, maxStep: Double = 1.0) {
        self.maxStep = maxStep
        frameInterval = 1 / (nominalFrameRate ?? 15)
    }

    /// Advances to a frame; returns its media time and whether the timeline broke before it.
    /// `framesSkipped` frames were deliberately not decoded before this one (adaptive decoding):
    /// the step may be that much longer without counting as a break.
    public mutating func advance(presentationTime: Double?, framesSkipped: Int = 0) -> (time: Double, discontinuity: Bool) {
        defer { lastPresentation = presentationTime }
        guard let previous = time else {
            time = 0
            return (0, false)
        }
        if let presentationTime, let lastPresentation {
            let step = presentationTime - lastPresentation
            if step > 0, step <= maxStep + 2 * frameInterval * Double(framesSkipped) {
                if framesSkipped == 0 { frameInterval = step }
                time = previous + step
                return (previous + step, false)
            }
        }
        time = previous + frameInterval * Double(framesSkipped + 1)
        return (time!, true)
    }
}
