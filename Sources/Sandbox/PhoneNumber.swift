/// Togolese mobile numbers as TMoney knows them: accounts by their 8-digit local number (`90000001`),
/// notifications in international form (`22890000001`).
enum PhoneNumber {
    static let countryCode = "228"

    /// The local number in what a shopper or a merchant wrote: `90000001`, `90 00 00 01`, `+228 90 00 00 01`,
    /// `22890000001` or `0022890000001`. Nil for anything that is not a Togolese number.
    static func local(_ text: String) -> String? {
        var digits = String(text.unicodeScalars.filter { $0 != " " && $0 != "-" && $0 != "." && $0 != "\u{A0}" })
        if digits.hasPrefix("+") {
            digits.removeFirst()
        } else if digits.hasPrefix("00") {
            digits.removeFirst(2)
        }
        if digits.utf8.count == 11 && digits.hasPrefix(countryCode) { digits.removeFirst(3) }
        guard digits.utf8.count == 8, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        return digits
    }

    static func international(_ local: String) -> String { countryCode + local }
}
