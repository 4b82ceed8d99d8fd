import Foundation

/// One field that failed validation, named as the client sent it.
public struct FieldError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public let field: String
    public let message: String

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// Every field that failed, so that a client fixes them all at once.
public struct ValidationErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public let errors: [FieldError]

    public init(_ errors: [FieldError]) { self.errors = errors }

    public var fields: [String] { errors.map(\.field) }
    public var description: String { errors.map(\.description).joined(separator: "; ") }
}

/// The rules of TMoney Online's order form (the spec's table), one function per kind of field. Each returns
/// the value to keep (normalised where that is harmless, such as spaces in a phone number) or throws a
/// `FieldError` naming the field. Lengths are counted in Unicode code points, as TMoney's PHP `mb_strlen`.
public enum FieldRule {
    /// `purchaseref`: 1 to 250 characters. Anything printable is allowed; control characters are not, since
    /// a browser rewrites line breaks in form fields and the reference would come back changed.
    public static func purchaseRef(_ value: String, field: String = "purchaseref") throws(FieldError) -> String {
        guard !value.isEmpty else { throw FieldError(field, "is required") }
        try maxLength(value, 250, field)
        try noControlCharacters(value, field)
        return value
    }

    public static func amount(_ value: String, field: String = "amount") throws(FieldError) -> Amount {
        guard let amount = Amount(digits: value) else {
            throw FieldError(field, "must be a whole number of F CFA, 3 to 10 digits with no decimal point (100 to 9999999999)")
        }
        return amount
    }

    public static func amount(_ value: Int64, field: String = "amount") throws(FieldError) -> Amount {
        guard let amount = Amount(francs: value) else {
            throw FieldError(field, "must be a whole number of F CFA from 100 to 9999999999")
        }
        return amount
    }

    /// ISO 4217 numeric code: 3 digits (`952` for F CFA).
    public static func currency(_ value: String, field: String = "currency") throws(FieldError) -> String {
        guard value.utf8.count == 3, value.utf8.allSatisfy(isDigit) else {
            throw FieldError(field, "must be an ISO 4217 numeric code of 3 digits, such as 952 for F CFA")
        }
        return value
    }

    /// 16 digits, as the TMoney administrator gives it.
    public static func merchantID(_ value: String, field: String = "merchantid") throws(FieldError) -> String {
        guard value.utf8.count == 16, value.utf8.allSatisfy(isDigit) else { throw FieldError(field, "must be 16 digits") }
        return value
    }

    /// 8 to 16 characters: digits, with an optional leading `+`. Spaces, dots and dashes people type are removed.
    public static func phone(_ value: String, field: String = "phonenumber") throws(FieldError) -> String {
        let compact = String(value.unicodeScalars.filter { $0 != " " && $0 != "-" && $0 != "." && $0 != "\u{A0}" })
        let digits = compact.hasPrefix("+") ? compact.dropFirst() : Substring(compact)
        guard (8...16).contains(compact.unicodeScalars.count), !digits.isEmpty, digits.utf8.allSatisfy(isDigit) else {
            throw FieldError(field, "must be a phone number of 8 to 16 characters: digits, optionally after a +")
        }
        return compact
    }

    /// Shown at the top of TMoney's page: up to 150 characters of plain text.
    public static func brand(_ value: String, field: String = "brand") throws(FieldError) -> String {
        guard !value.trimmingCharacters(in: .whitespaces).isEmpty else { throw FieldError(field, "is required") }
        try maxLength(value, 150, field)
        try plainText(value, field)
        return value
    }

    /// The label in the shopper's TMoney history: up to 255 characters of plain text, no HTML.
    public static func description(_ value: String, field: String = "description") throws(FieldError) -> String {
        try maxLength(value, 255, field)
        try plainText(value, field)
        return value
    }

    /// Text shown at the top of TMoney's payment page: up to 250 characters of plain text.
    public static func text(_ value: String, field: String = "text") throws(FieldError) -> String {
        try maxLength(value, 250, field)
        try plainText(value, field)
        return value
    }

    public static func language(_ value: String, field: String = "language") throws(FieldError) -> Language {
        guard let language = Language(rawValue: value) else { throw FieldError(field, "must be fr or en") }
        return language
    }

    /// A return URL: http or https, at most 150 characters, on one of `allowedHosts` (so that Cross never
    /// sends a shopper to a site the merchant did not name), without credentials. An entry `*.shop.tg` in
    /// `allowedHosts` allows every subdomain of shop.tg.
    public static func returnURL(_ value: String, allowedHosts: [String], field: String) throws(FieldError) -> String {
        try maxLength(value, 150, field)
        guard !value.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0 == "\\" }) else {
            throw FieldError(field, "must not contain spaces, control characters or backslashes")
        }
        guard let components = URLComponents(string: value), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https" else {
            throw FieldError(field, "must be an http or https URL")
        }
        guard let host = components.host?.lowercased(), !host.isEmpty else { throw FieldError(field, "must name a host") }
        guard components.user == nil && components.password == nil else {
            throw FieldError(field, "must not carry a user name or password")
        }
        guard hostIsAllowed(host, allowedHosts) else {
            throw FieldError(field, "must be on an allowed host (\(allowedHosts.joined(separator: ", "))), not \(host)")
        }
        return value
    }

    public static func hostIsAllowed(_ host: String, _ allowedHosts: [String]) -> Bool {
        let host = host.lowercased()
        return allowedHosts.contains { allowed in
            let allowed = allowed.lowercased()
            if allowed.hasPrefix("*.") { return host.hasSuffix(allowed.dropFirst(1)) && host.count > allowed.count - 1 }
            return host == allowed
        }
    }

    static func maxLength(_ value: String, _ limit: Int, _ field: String) throws(FieldError) {
        let length = value.unicodeScalars.count
        guard length <= limit else { throw FieldError(field, "must be at most \(limit) characters (it has \(length))") }
    }

    static func noControlCharacters(_ value: String, _ field: String) throws(FieldError) {
        guard !value.unicodeScalars.contains(where: isControl) else {
            throw FieldError(field, "must not contain control characters or line breaks")
        }
    }

    static func plainText(_ value: String, _ field: String) throws(FieldError) {
        try noControlCharacters(value, field)
        // Bytes, not Characters: "<\u{338}" (with a combining overlay) is one Character, which is not "<".
        guard !value.utf8.contains(UInt8(ascii: "<")) && !value.utf8.contains(UInt8(ascii: ">")) else {
            throw FieldError(field, "must be plain text, without HTML (no < or >)")
        }
    }

    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    public static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

/// The languages TMoney's payment page speaks.
public enum Language: String, Sendable, Codable, CaseIterable {
    case fr
    case en
}
