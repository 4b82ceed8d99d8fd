// Payments.FieldRule validators, Amount(digits:), TMoneyOnline.SessionID, OrderKey(hex:) and Timestamp(iso8601:),
// on any text.
//
// Input: one value (bytes that are not UTF-8 become U+FFFD), given to every validator.
//
// Invariants: each validator either throws a FieldError naming the field it was given, or returns a value that
// keeps its rule; values are kept byte for byte (a phone number only loses spaces, dots and dashes, and
// validating it again changes nothing); an amount's digits are the text it came from; a session id is redacted
// to its first and last four characters (to `…` alone when it has only 8); a timestamp read from text writes
// back as text that reads to the same moment.
import Foundation
import FuzzSupport
import Payments
import TMoneyOnline

private let allowedHosts = ["shop.tg", "*.boutique.tg"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFields(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let value = text(data, count)
    let scalars = value.unicodeScalars
    let digitsOnly = value.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    let hasControl = scalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 || $0.value == 0x2029 }

    expect("purchaseref", { () throws(FieldError) in try FieldRule.purchaseRef(value, field: "purchaseref") }) { ref in
        invariant(same(ref, value) && !value.isEmpty && scalars.count <= 250 && !hasControl, "purchaseRef accepted \(show(value))")
    }
    expect("amount", { () throws(FieldError) in try FieldRule.amount(value, field: "amount") }) { amount in
        invariant(same(amount.digits, value), "amount(\(show(value))) = \(amount.digits)")
        invariant((Amount.minimum...Amount.maximum).contains(amount.francs), "amount \(amount.francs)")
    }
    invariant(Amount(digits: value).map { same($0.digits, value) } ?? true, "Amount(digits: \(show(value)))")
    if let amount = Amount(digits: value) {
        invariant(Amount(digits: amount.digits) == amount && Amount(francs: amount.francs) == amount, "amount round trip")
        invariant(amount.formatted.hasSuffix(" F CFA"), "formatted amount \(amount.formatted)")
    }
    expect("currency", { () throws(FieldError) in try FieldRule.currency(value, field: "currency") }) { currency in
        invariant(same(currency, value) && value.utf8.count == 3 && digitsOnly, "currency accepted \(show(value))")
    }
    expect("merchantid", { () throws(FieldError) in try FieldRule.merchantID(value, field: "merchantid") }) { id in
        invariant(same(id, value) && value.utf8.count == 16 && digitsOnly, "merchantID accepted \(show(value))")
    }
    expect("phone", { () throws(FieldError) in try FieldRule.phone(value, field: "phone") }) { phone in
        let digits = phone.utf8.first == UInt8(ascii: "+") ? phone.utf8.dropFirst() : phone.utf8[...]
        invariant((8...16).contains(phone.utf8.count) && !digits.isEmpty && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 },
                  "phone(\(show(value))) = \(show(phone))")
        invariant(same(phone, String(scalars.filter { $0 != " " && $0 != "-" && $0 != "." && $0 != "\u{A0}" })),
                  "phone(\(show(value))) = \(show(phone)) changed more than separators")
        invariant((try? FieldRule.phone(phone)).map { same($0, phone) } ?? false, "phone(\(show(phone))) is not idempotent")
    }
    for (name, limit) in [("brand", 150), ("description", 255), ("text", 250)] {
        expect(name, { () throws(FieldError) in
            switch name {
            case "brand": return try FieldRule.brand(value, field: name)
            case "description": return try FieldRule.description(value, field: name)
            default: return try FieldRule.text(value, field: name)
            }
        }) { kept in
            invariant(same(kept, value) && scalars.count <= limit && !hasControl && !value.utf8.contains(UInt8(ascii: "<")) && !value.utf8.contains(UInt8(ascii: ">")),
                      "\(name) accepted \(show(value))")
        }
    }
    expect("language", { () throws(FieldError) in try FieldRule.language(value, field: "language") }) { language in
        invariant(same(language.rawValue, value), "language(\(show(value))) = \(language)")
    }
    expect("accept_url", { () throws(FieldError) in try FieldRule.returnURL(value, allowedHosts: allowedHosts, field: "accept_url") }) { url in
        invariant(same(url, value) && scalars.count <= 150, "returnURL(\(show(value))) = \(show(url))")
        invariant(!scalars.contains { $0.value <= 0x20 || $0.value == 0x7F || $0 == "\\" }, "returnURL accepted \(show(value))")
        let components = URLComponents(string: value)
        invariant(["http", "https"].contains(components?.scheme?.lowercased() ?? ""), "returnURL accepted \(show(value)), not http(s)")
        invariant(components?.host.map { FieldRule.hostIsAllowed($0, allowedHosts) } ?? false, "returnURL accepted \(show(value)), not on an allowed host")
        invariant(components?.user == nil && components?.password == nil, "returnURL accepted \(show(value)) with credentials")
    }
    let allowed = FieldRule.hostIsAllowed(value, allowedHosts)
    let host = value.lowercased()
    invariant(allowed == (host == "shop.tg" || (host.hasSuffix(".boutique.tg") && host.count > ".boutique.tg".count)),
              "hostIsAllowed(\(show(value))) = \(allowed)")

    if let id = TMoneyOnline.SessionID(value) {
        invariant(same(id.value, value) && (8...64).contains(value.utf8.count), "SessionID(\(show(value)))")
        // Only the ends, and nothing of an id of 8 (its ends would be all of it).
        let ends = value.utf8.count > 8 ? String(value.prefix(4)) + "…" + String(value.suffix(4)) : "…"
        invariant(same(id.redacted, ends), "\(show(value)) redacted as \(show(id.redacted))")
    }
    if let key = OrderKey(hex: value) {
        invariant(same(key.hex, value) && value.utf8.count == 32, "OrderKey(hex: \(show(value)))")
    }
    invariant(OrderKey(ref: value).hex.utf8.count == 32, "OrderKey(ref:) is not 32 hex digits")

    if let moment = Timestamp(iso8601: value) {
        let written = moment.iso8601
        invariant(Timestamp(iso8601: written) == moment, "\(show(value)) reads as \(moment.seconds) s, written \(show(written)), which reads differently")
        invariant(value.utf8.count == 10 ? same(String(written.prefix(10)), value) : true, "the date \(show(value)) is written \(show(written))")
    }
    return 0
}

/// Runs a validator: a refusal must name the field it was given; an accepted value goes to `check`.
private func expect<T>(_ field: String, _ validate: () throws(FieldError) -> T, _ check: (T) -> Void) {
    let result: T
    do {
        result = try validate()
    } catch {
        invariant(same(error.field, field), "a refusal names \(show(error.field)), not \(field)")
        invariant(!error.message.isEmpty, "a refusal without a message")
        return
    }
    check(result)
}
