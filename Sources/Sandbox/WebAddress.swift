import Foundation
import Payments

/// The URLs merchants give TMoney: return pages and notification URLs. Unlike Cross, which only sends its
/// shoppers to hosts it was told about, TMoney accepts any http(s) page of the merchant's.
enum WebAddress {
    /// An http or https URL naming a host, with no spaces, control characters, backslashes or credentials,
    /// and at most `limit` characters (the order form's return URLs: 150).
    static func check(_ value: String, field: String, limit: Int? = nil) throws(FieldError) -> String {
        if let limit, value.unicodeScalars.count > limit {
            throw FieldError(field, "must be at most \(limit) characters (it has \(value.unicodeScalars.count))")
        }
        guard !value.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0 == "\\" }) else {
            throw FieldError(field, "must not contain spaces, control characters or backslashes")
        }
        guard let components = URLComponents(string: value), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https" else {
            throw FieldError(field, "must be an http or https URL")
        }
        guard let host = components.host, !host.isEmpty else { throw FieldError(field, "must name a host") }
        guard components.user == nil && components.password == nil else {
            throw FieldError(field, "must not carry a user name or password")
        }
        return value
    }
}
