/// The check every number read from a user goes through (config keys, command-line flags), so that
/// nothing out of range (`inf`, `nan`, `1e300`) reaches a `Duration`, an `Int` conversion or a loop.
public enum Bounds {
    /// The problem with `value` for `key`, or nil when it lies in `range`. One line naming the key,
    /// the value and the range: `read_timeout must be 0.1...3600 seconds (got 1e+30)`.
    public static func problem(_ key: String, _ value: Double, _ range: ClosedRange<Double>, unit: String = "")
        -> String?
    {
        range.contains(value) ? nil : message(key, format(value), format(range.lowerBound), format(range.upperBound), unit)
    }

    /// The same for a whole number.
    public static func problem(_ key: String, _ value: Int, _ range: ClosedRange<Int>, unit: String = "") -> String? {
        range.contains(value) ? nil : message(key, "\(value)", "\(range.lowerBound)", "\(range.upperBound)", unit)
    }

    /// A number as a user would write it: `3600`, not `3600.0`.
    public static func format(_ value: Double) -> String {
        value.isFinite && value == value.rounded() && abs(value) < 1e15 ? "\(Int(value))" : "\(value)"
    }

    private static func message(_ key: String, _ value: String, _ lower: String, _ upper: String, _ unit: String)
        -> String
    {
        "\(key) must be \(lower)...\(upper)\(unit.isEmpty ? "" : " \(unit)") (got \(value))"
    }
}
