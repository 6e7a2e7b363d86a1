import Foundation
import Logging
import VigilIngest

/// Log lines for journald (and people reading stderr): `<priority>message key=value ...`, one line
/// per happening, with every credential redacted. journald reads the `<N>` syslog priority prefix
/// and adds its own timestamp; with `timestamps` on (a terminal), an ISO time is printed instead.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let timestamps: Bool

    public init(label: String, level: Logger.Level = .info, timestamps: Bool = false) {
        self.label = label
        self.logLevel = level
        self.timestamps = timestamps
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let context = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let prefix = timestamps ? Date().formatted(.iso8601) + " \(event.level) " : "<\(Self.priority(event.level))>"
        let text = prefix + (context.isEmpty ? "" : context + " ") + "\(event.message)"
        let line = Redactor.shared.redact(text).replacingOccurrences(of: "\n", with: " ") + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
