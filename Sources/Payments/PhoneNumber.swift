/// A Togolese mobile number: `+228` and 8 national digits. Shoppers write it in many ways (`90 00 00 01`,
/// `+228 90000001`, `0022890000001`, `228-90-00-00-01`); operators want it as `228XXXXXXXX` (MBANKING, Flooz,
/// TMoney Online's `mobile`), accounts are known by the 8 digits.
public struct PhoneNumber: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The 8 national digits: `90000001`.
    public let national: String

    public static let countryCode = "228"

    /// Why a written number is not one Cross can send a prompt to.
    public enum Problem: Error, Sendable, Equatable {
        /// Not 8 national digits once spaces, dashes, dots and the country code are taken away (letters, too
        /// short, too long, another country).
        case notTogolese
        /// 8 digits in a range no Togolese operator has (74–77, 94–95, a landline, …).
        case noMobileOperator
    }

    /// The number in what someone wrote: `90000001`, `90 00 00 01`, `+228 90 00 00 01`, `22890000001` or
    /// `0022890000001`; `nil` for anything else. Says nothing of the operator (see `suggestedOperator`).
    public init?(_ text: String) {
        let written = String(text.unicodeScalars.filter { !Self.separators.contains($0) })
        let digits: Substring
        switch written.utf8.count {
        case 12 where written.hasPrefix("+" + Self.countryCode): digits = written.dropFirst(4)
        case 13 where written.hasPrefix("00" + Self.countryCode): digits = written.dropFirst(5)
        case 11 where written.hasPrefix(Self.countryCode): digits = written.dropFirst(3)
        // 8 digits are the national number, even `00…` (no mobile range starts so, but it reads back as itself).
        case 8: digits = Substring(written)
        default: return nil
        }
        guard digits.utf8.count == 8, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        national = String(digits)
    }

    /// A mobile number of a Togolese operator, or why not.
    public static func mobile(_ text: String) throws(Problem) -> PhoneNumber {
        guard text.utf8.count <= 40, let number = PhoneNumber(text) else { throw .notTogolese }
        guard number.suggestedOperator != nil else { throw .noMobileOperator }
        return number
    }

    private static let separators: Set<Unicode.Scalar> = [" ", "-", ".", "(", ")", "\u{A0}", "\u{202F}", "\t"]

    /// `228XXXXXXXX`, as MBANKING and Flooz want it.
    public var international: String { Self.countryCode + national }

    /// `+228 90 00 00 01`, as people read it.
    public var displayed: String {
        let d = Array(national)
        return "+228 " + stride(from: 0, to: 8, by: 2).map { String(d[$0..<$0 + 2]) }.joined(separator: " ")
    }

    public var description: String { displayed }

    /// The operator whose range the number is in (libphonenumber's current data): Togocom's TMoney 70–73 and
    /// 90–93, Moov's Flooz 78, 79 and 96–99. A first guess only: numbers are portable since May 2024, so the
    /// shopper may say otherwise, and an operator refusing the number is an answer, not a crash.
    public var suggestedOperator: Operator? {
        switch national.prefix(2) {
        case "70", "71", "72", "73", "90", "91", "92", "93": .tmoney
        case "78", "79", "96", "97", "98", "99": .flooz
        default: nil
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let number = PhoneNumber(try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a Togolese number")
        }
        self = number
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(international)
    }
}
