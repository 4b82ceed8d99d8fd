import Foundation

/// How the sandbox bends TMoney's notification on purpose, so that a merchant can test how it copes:
/// `twice,delay_ms=2000`. Written the same way in the configuration (a merchant's `scenario`) and in an order
/// form (`sandbox_scenario`). The empty text is TMoney's normal behaviour: one notification, sent at once,
/// while the shopper is redirected.
public struct Scenario: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Wait this long before sending the notification, so that the shopper is back first.
    public var delayMilliseconds = 0
    /// Send the same notification a second time, as a retrying server would.
    public var twice = false
    /// Send it before answering the shopper's browser, so that it is there when the shopper comes back.
    public var beforeReturn = false
    /// Never send it: the merchant learns nothing but what the shopper's browser says.
    public var drop = false
    /// Added to the amount in the notification (the shopper is charged the order's amount): a mismatch.
    public var amountDelta: Int64 = 0

    public static let maxDelayMilliseconds = 600_000

    public init() {}

    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The switches, comma-separated, in any order, each at most once. Spaces around them are ignored.
    public init(parsing text: String) throws(Invalid) {
        var seen: Set<String> = []
        for piece in text.split(separator: ",") {
            let item = piece.trimmingCharacters(in: .whitespaces)
            if item.isEmpty { continue }
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count == 2 ? String(parts[1]) : nil
            guard seen.insert(name).inserted else { throw Invalid(description: "the scenario names \(name) twice") }
            switch (name, value) {
            case ("twice", nil): twice = true
            case ("before_return", nil): beforeReturn = true
            case ("drop", nil): drop = true
            case ("delay_ms", let value?):
                guard let milliseconds = Int(value), (0...Self.maxDelayMilliseconds).contains(milliseconds) else {
                    throw Invalid(description: "delay_ms must be 0 to \(Self.maxDelayMilliseconds) milliseconds, not \"\(value)\"")
                }
                delayMilliseconds = milliseconds
            case ("amount_delta", let value?):
                guard let delta = Int64(value), abs(delta) <= 9_999_999_999 else {
                    throw Invalid(description: "amount_delta must be a whole number of francs, such as -100 or 500, not \"\(value)\"")
                }
                amountDelta = delta
            default:
                throw Invalid(description: "\"\(item)\" is not a scenario switch; use \(Self.syntax)")
            }
        }
        // A dropped notification cannot also be late, repeated or wrong: saying so is a mistake in the test.
        if drop && seen.count > 1 {
            throw Invalid(description: "drop cannot be combined with other switches")
        }
    }

    public static let syntax = "delay_ms=N, twice, before_return, drop, amount_delta=N (comma-separated)"

    /// The canonical text: what `init(parsing:)` reads back.
    public var description: String {
        var parts: [String] = []
        if drop { parts.append("drop") }
        if beforeReturn { parts.append("before_return") }
        if twice { parts.append("twice") }
        if delayMilliseconds != 0 { parts.append("delay_ms=\(delayMilliseconds)") }
        if amountDelta != 0 { parts.append("amount_delta=\(amountDelta)") }
        return parts.joined(separator: ",")
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
