import CFFmpeg
import Logging
import Synchronization

/// Routes FFmpeg's own log into a swift-log `Logger`, one whole line at a time, with
/// credentials redacted (FFmpeg prints `rtsp://user:pass@...` itself). At most `linesPerSecond`
/// warnings and errors a second go out (a damaged stream makes the decoder report every packet);
/// how many more were suppressed is logged with the first one of a later second.
public enum FFmpegLog {
    private static let destination = Mutex<Logger?>(nil)
    public static let linesPerSecond = 20
    /// The current one-second window: when it began, lines seen in it, lines suppressed.
    private static let budget = Mutex<(windowStart: Double, lines: Int, suppressed: Int)>((0, 0, 0))

    /// Sends libav lines at `level` or more severe to `logger`. Call once at startup.
    public static func route(to logger: Logger, level: Logger.Level = .warning) {
        destination.withLock { $0 = logger }
        vg_set_log_sink({ libavLevel, line in
            guard let line else { return }
            FFmpegLog.emit(libavLevel: libavLevel, line: String(cString: line))
        }, libavLevel(for: level))
    }

    /// Silences libav entirely.
    public static func silence() {
        destination.withLock { $0 = nil }
        vg_set_log_sink(nil, -8)
    }

    /// Lines libav logs as errors or warnings that are routine for Vigil: access units carrying no
    /// picture, packets lost or late on the network (the decoder conceals them and Vigil skips the
    /// damaged pictures). They are logged at debug priority.
    public static let routineLines = ["missing picture in access unit", "no frame!", "RTP: missed ", "max delay reached"]

    private static func emit(libavLevel: Int32, line: String) {
        guard let logger = destination.withLock({ $0 }) else { return }
        let level = level(forLibav: libavLevel, line: line)
        guard level >= logger.logLevel else { return }
        let now = monotonicSeconds()
        // Lines suppressed in the window that just closed, and whether this one goes out. Lines asked
        // for on purpose (debug, trace) are never capped.
        let (suppressed, passes) = level < .warning ? (0, true) : budget.withLock { budget in
            var closed = 0
            if now - budget.windowStart >= 1 {
                closed = budget.suppressed
                budget = (now, 0, 0)
            }
            budget.lines += 1
            if budget.lines > linesPerSecond { budget.suppressed += 1 }
            return (closed, budget.lines <= linesPerSecond)
        }
        if suppressed > 0 {
            logger.warning("(\(suppressed) more lines of FFmpeg's log suppressed: at most \(linesPerSecond) a second)",
                           metadata: ["source": "ffmpeg"])
        }
        if passes { logger.log(level: level, "\(Redactor.shared.redact(line))", metadata: ["source": "ffmpeg"]) }
    }

    /// The priority a libav line at `libavLevel` is logged at.
    public static func level(forLibav libavLevel: Int32, line: String) -> Logger.Level {
        routineLines.contains { line.contains($0) } ? .debug : level(forLibav: libavLevel)
    }

    private static func libavLevel(for level: Logger.Level) -> Int32 {
        switch level {
        case .trace: 56
        case .debug: 48
        case .info, .notice: 32
        case .warning: 24
        case .error: 16
        case .critical: 8
        }
    }

    private static func level(forLibav level: Int32) -> Logger.Level {
        switch level {
        case ...8: .critical
        case ...16: .error
        case ...24: .warning
        case ...32: .info
        case ...48: .debug
        default: .trace
        }
    }
}
