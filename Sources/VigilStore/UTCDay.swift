import Foundation

/// Calendar days as Vigil writes them (`YYYY-MM-DD`, UTC): declaration dates, the end of an
/// evidence hold, the snapshot directories.
public enum UTCDay {
    /// The start (UTC midnight) of the day `text` names; nil unless it is a real date in exactly that form.
    public static func parse(_ text: String) -> Date? {
        let formatter = self.formatter
        guard text.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil,
            let day = formatter.date(from: text), formatter.string(from: day) == text
        else { return nil }
        return day
    }

    /// The UTC day of `date`.
    public static func format(_ date: Date) -> String {
        formatter.string(from: date)
    }

    private static var formatter: DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter
    }
}
