import Foundation

/// A moment, to the second, written in order files and the journal as `2026-11-26T15:23:28Z`.
/// Plain Unix seconds inside: comparisons and arithmetic stay integer, and encoding needs no date formatter.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    public static func now() -> Timestamp { Timestamp(seconds: Int64(time(nil))) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.seconds < rhs.seconds }

    public func adding(seconds: Int64) -> Timestamp { Timestamp(seconds: self.seconds + seconds) }

    public var description: String { iso8601 }

    public var iso8601: String {
        var parts = tm()
        var value = time_t(seconds)
        gmtime_r(&value, &parts)
        func pad(_ number: Int32, _ width: Int) -> String {
            let digits = String(number)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))Z"
    }

    /// `2026-11-26T15:23:28Z`, or a date alone (`2026-11-26`, midnight UTC).
    public init?(iso8601 text: String) {
        let digits = text.utf8.map { $0 &- UInt8(ascii: "0") }
        func number(_ range: Range<Int>) -> Int32? {
            var value: Int32 = 0
            for index in range {
                guard index < digits.count, digits[index] <= 9 else { return nil }
                value = value * 10 + Int32(digits[index])
            }
            return value
        }
        let bytes = Array(text.utf8)
        guard bytes.count == 10 || bytes.count == 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        if bytes.count == 20 {
            guard bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
                  bytes[19] == UInt8(ascii: "Z"), let hour = number(11..<13), let minute = number(14..<16),
                  let second = number(17..<19), hour < 24, minute < 60, second < 61 else { return nil }
            parts.tm_hour = hour
            parts.tm_min = minute
            parts.tm_sec = second
        }
        let value = timegm(&parts)
        // timegm normalises 31 February into March: a date that does not exist is refused instead.
        var check = tm()
        var roundTrip = value
        gmtime_r(&roundTrip, &check)
        guard check.tm_mday == day, check.tm_mon == month - 1 else { return nil }
        seconds = Int64(value)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = Timestamp(iso8601: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not a time like 2026-11-26T15:23:28Z")
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }
}
