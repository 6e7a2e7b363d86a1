import Foundation
import Synchronization

/// Alert and event ids: 26 characters of Crockford base32 in the ULID layout, 48 bits of
/// milliseconds since 1970 followed by 80 random bits (`01JDQ3V5K8M2X7R4T9B6C1N0PZ`).
///
/// Ids sort by time as plain strings. Within one process they are strictly increasing, even for
/// many ids in the same millisecond or when the clock steps back (the random part is incremented).
public enum AlertID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    private static let last = Mutex<(millis: UInt64, high: UInt16, low: UInt64)>((0, 0, 0))

    /// A new id for something that happened at `date`. Thread-safe.
    public static func make(at date: Date = Date()) -> String {
        let wanted = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let (millis, high, low) = last.withLock { last in
            if wanted > last.millis {
                var generator = SystemRandomNumberGenerator()
                last = (wanted, UInt16.random(in: .min ... .max, using: &generator),
                        UInt64.random(in: .min ... .max, using: &generator))
            } else {
                let (low, overflow) = last.low.addingReportingOverflow(1)
                last.low = low
                if overflow { last.high &+= 1 }
            }
            return last
        }
        return encode(high: (millis << 16) | UInt64(high), low: low)
    }

    /// True for strings of the form `make` returns.
    public static func isValid(_ text: String) -> Bool {
        text.utf8.count == 26 && text.utf8.allSatisfy { alphabet.contains($0) } && text.utf8.first! <= UInt8(ascii: "7")
    }

    /// The time an id was made for (to the millisecond), from its first 10 digits; nil for an invalid id.
    public static func date(of id: String) -> Date? {
        guard isValid(id) else { return nil }
        var millis: UInt64 = 0
        for digit in id.utf8.prefix(10) {
            millis = millis << 5 | UInt64(alphabet.firstIndex(of: digit)!)
        }
        return Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    /// 128 bits as 26 base32 digits, most significant first (the first digit holds 3 bits).
    private static func encode(high: UInt64, low: UInt64) -> String {
        var digits = [UInt8](repeating: 0, count: 26)
        var high = high, low = low
        for index in stride(from: 25, through: 0, by: -1) {
            digits[index] = alphabet[Int(low & 0x1F)]
            low = (low >> 5) | (high << 59)
            high >>= 5
        }
        return String(decoding: digits, as: UTF8.self)
    }
}
