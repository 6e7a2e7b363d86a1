import Foundation
import VigilStore

/// How alerts read for people: one line each, local time first.
enum AlertFormatting {
    /// `2026-11-29 15:03:07  grote-markt-1   motion_started    zones entrance, street  peak 1.25%`
    static func line(_ alert: Alert) -> String {
        var parts = [localTime(alert.time), pad(alert.camera, 16), pad(alert.kind.rawValue, 20)]
        if alert.kind.isMotion {
            let zones = alert.zones ?? []
            parts.append("zones " + (zones.isEmpty ? "-" : zones.joined(separator: ", ")))
            if let peak = alert.peakArea { parts.append(String(format: "peak %.2f%%", peak * 100)) }
            if alert.interrupted { parts.append("interrupted") }
            if alert.framesStopped { parts.append("frames stopped") }
        }
        // Only motion alerts are coalesced; a motion_flood's message says what its count is.
        if alert.count > 1, alert.kind.isMotion { parts.append("x\(alert.count) coalesced") }
        // Motion messages only repeat what "interrupted" and the count say.
        if let message = alert.message, !alert.kind.isMotion { parts.append(message) }
        return parts.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }

    /// `2026-11-29 15:03:07` in the local time zone (`$TZ`).
    static func localTime(_ date: Date) -> String {
        localFormatter.string(from: date)
    }

    private static let localFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter
    }()

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// A `--since` value: `30s`, `15m`, `2h`, `7d` ago; a local `2026-11-29`, `2026-11-29 14:00[:05]`
    /// (or with `T`), `14:00` today; or an ISO-8601 time with a zone (`2026-11-29T13:00:00Z`).
    static func parseSince(_ text: String, now: Date = Date()) -> Date? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        // Up to 100 years ago; a larger, infinite or negative amount is not a time.
        if let unit = text.last.flatMap({ units[$0] }), let amount = Double(text.dropLast()),
            (0...100 * 365 * 86_400).contains(amount * unit)
        {
            return now.addingTimeInterval(-amount * unit)
        }
        if let date = AlertTime.parse(text) { return date }
        let zoned = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
            zoned.formatOptions = options
            if let date = zoned.date(from: text) { return date }
        }
        let local = DateFormatter()
        local.locale = Locale(identifier: "en_US_POSIX")
        local.timeZone = TimeZone.current
        let normalized = text.replacingOccurrences(of: "T", with: " ")
        for format in ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"] {
            local.dateFormat = format
            if let date = local.date(from: normalized) { return date }
        }
        local.dateFormat = "HH:mm"
        if let time = local.date(from: text) {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone.current
            let clock = calendar.dateComponents([.hour, .minute], from: time)
            return calendar.date(bySettingHour: clock.hour!, minute: clock.minute!, second: 0, of: now)
        }
        return nil
    }
}
