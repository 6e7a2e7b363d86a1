import VigilDetector

/// The config file's `reporter:` section: where alerts go besides the queue.
///
/// ```yaml
/// reporter:
///   alert_log: /var/log/vigil/alerts.jsonl
///   webhook:
///     url_file: /etc/vigil/webhook-url   # a file holding the URL (a secret)
///     timeout: 10
///   exec:
///     command: /usr/local/bin/on-alert
///     dead_after: 5
/// ```
public struct ReporterSettings: Sendable, Equatable {
    /// The alert log's path; nil for the default (see docs/alerts.md, "Sinks").
    public var alertLog: String?
    public var webhook: HookSettings?
    public var exec: HookSettings?

    public init() {}

    /// The section's keys.
    public static let keys = ["alert_log", "webhook", "exec"]
    /// The key naming a webhook's target (a file holding the URL).
    public static let webhookTargetKey = "url_file"
    /// The key naming an exec sink's target (the shell command).
    public static let execTargetKey = "command"
}

/// A webhook or exec sink: its target (the webhook's `url_file`, the exec `command`) and how it retries.
/// Encodable so that the retry defaults can be listed under their config keys (not the target).
public struct HookSettings: Sendable, Equatable, Codable {
    /// The `url_file` of a webhook, the `command` of an exec sink.
    public var target: String
    /// Seconds one attempt may take.
    public var timeout = 10.0
    /// Seconds before the first retry, doubled after each failure up to `maxBackoff`.
    public var initialBackoff = 1.0
    public var maxBackoff = 300.0
    /// Failed attempts before an alert is dead-lettered.
    public var deadAfter = 10

    public init(target: String) {
        self.target = target
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case timeout
        case initialBackoff = "initial_backoff"
        case maxBackoff = "max_backoff"
        case deadAfter = "dead_after"
    }

    /// The retry keys a webhook or exec sink takes besides its target.
    public static var retryKeys: [String] { CodingKeys.allCases.map(\.rawValue) }

    /// Decodes the retry knobs; `target` is filled in by the caller. Missing keys keep their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        target = ""
        timeout = try container.decodeIfPresent(Double.self, forKey: .timeout) ?? timeout
        initialBackoff = try container.decodeIfPresent(Double.self, forKey: .initialBackoff) ?? initialBackoff
        maxBackoff = try container.decodeIfPresent(Double.self, forKey: .maxBackoff) ?? maxBackoff
        deadAfter = try container.decodeIfPresent(Int.self, forKey: .deadAfter) ?? deadAfter
    }

    /// The first knob out of range, or nil.
    var problem: String? {
        if let problem = Bounds.problem("timeout", timeout, 0.01...3600, unit: "seconds") { return problem }
        if let problem = Bounds.problem("initial_backoff", initialBackoff, 0.01...86_400, unit: "seconds") {
            return problem
        }
        if let problem = Bounds.problem("max_backoff", maxBackoff, 0.01...86_400, unit: "seconds") { return problem }
        if maxBackoff < initialBackoff {
            return "max_backoff must be at least initial_backoff (got \(maxBackoff))"
        }
        if deadAfter < 1 { return "dead_after must be at least 1 (got \(deadAfter))" }
        return Bounds.problem("dead_after", deadAfter, 1...1000)
    }
}
