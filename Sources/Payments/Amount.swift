/// A sum of money in whole francs CFA. F CFA has no minor unit in use, and TMoney's `amount` carries no
/// decimal point: 15000 is fifteen thousand francs. Never a floating-point number.
public struct Amount: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let francs: Int64

    /// TMoney takes 3 to 10 digits: 100 to 9 999 999 999 F CFA.
    public static let minimum: Int64 = 100
    public static let maximum: Int64 = 9_999_999_999

    public init?(francs: Int64) {
        guard (Self.minimum...Self.maximum).contains(francs) else { return nil }
        self.francs = francs
    }

    /// Parses the text of a form or a notification: 3 to 10 digits, nothing else (no sign, no separator, no
    /// decimal point, no leading zero).
    public init?(digits text: String) {
        let utf8 = text.utf8
        guard (3...10).contains(utf8.count), utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              utf8.first != UInt8(ascii: "0"), let value = Int64(text) else { return nil }
        self.init(francs: value)
    }

    public static func < (lhs: Amount, rhs: Amount) -> Bool { lhs.francs < rhs.francs }

    /// As TMoney's form and notification carry it: `15000`.
    public var digits: String { String(francs) }
    public var description: String { digits }

    /// For people: `15 000 F CFA`, thousands grouped by spaces as is usual in French.
    public var formatted: String { Self.formatted(francs: francs) }

    /// Any sum, for people: a balance or a day's total may be 0, negative or above an order's maximum.
    public static func formatted(francs: Int64) -> String {
        let digits = Array(String(francs.magnitude))
        var out = francs < 0 ? "-" : ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(" ") }
            out.append(digit)
        }
        return out + " F CFA"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value = try container.decode(Int64.self)
        guard let amount = Amount(francs: value) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(value) is not an amount of 100 to 9999999999 F CFA")
        }
        self = amount
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(francs)
    }
}
