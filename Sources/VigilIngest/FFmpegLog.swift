import CFFmpeg
import Logging
import Synchronization

/// Routes FFmpeg's own log into a swift-log `Logger`, one whole line at a time, with
/// credentials redacted (FFmpeg prints `rtsp://user:pass@...` itself).
public enum FFmpegLog {
    private static let destination = Mutex<Logger?>(nil)

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

    private static func emit(libavLevel: Int32, line: String) {
        guard let logger = destination.withLock({ $0 }) else { return }
        let text = Redactor.shared.redact(line)
        logger.log(level: level(forLibav: libavLevel), "\(text)", metadata: ["source": "ffmpeg"])
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
