// Payments.OrderFields.validate: an order request (`POST /api/orders`) checked against the spec's table and the
// merchant's policy.
//
// Input: the request's JSON body, read into OrderFields by the order API's own reader, `OrderFields.decode(json:)`
// (strings, and `amount` as a whole number or a string).
//
// Invariants:
// - validate either throws ValidationErrors naming at least one known field, each once, or returns an order
//   whose every field keeps the rules and is, byte for byte, what was sent (or the policy's default; a phone
//   number loses its spaces, dots and dashes);
// - that order, given back as fields, validates to the same order (validation is idempotent).
import Foundation
import FuzzSupport
import Payments

private let policy = OrderPolicy(
    currency: "952", brand: "Boutique Démo", language: .fr, allowedReturnHosts: ["shop.tg", "*.boutique.tg"],
    defaultReturnURLs: ReturnURLs(accept: "https://shop.tg/merci", decline: nil, cancel: "https://shop.tg/panier"))

private let fieldNames: Set<String> = [
    "purchaseref", "amount", "currency", "description", "brand", "phone", "language", "text",
    "accept_url", "decline_url", "cancel_url",
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOrderFields(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let (fields, shapeErrors) = try? OrderFields.decode(json: Array(bytes(data, count))) else {
        note("not a JSON object")
        return 0
    }
    note("fields of the wrong shape: \(shapeErrors)")
    let order: NewOrder
    do {
        order = try fields.validate(policy)
    } catch {
        note("refused: \(error)")
        invariant(!error.errors.isEmpty, "a refused order names no field")
        invariant(error.fields.allSatisfy(fieldNames.contains), "an unknown field in \(error.fields)")
        invariant(Set(error.fields).count == error.fields.count, "a field is named twice: \(error.fields)")
        return 0
    }
    note("valid: \(order)")
    check(order, from: fields)

    let again: NewOrder
    do {
        again = try OrderFields(
            purchaseref: order.ref, amount: order.amount.digits, currency: order.currency, description: order.description,
            brand: order.brand, phone: order.phone, language: order.language.rawValue, text: order.text,
            acceptURL: order.returnURLs.accept, declineURL: order.returnURLs.decline, cancelURL: order.returnURLs.cancel
        ).validate(policy)
    } catch {
        fail("a valid order, given back as fields, is refused: \(error)")
    }
    invariant(identical(again, order), "a valid order, given back as fields, validates to another order")
    return 0
}

private func check(_ order: NewOrder, from fields: OrderFields) {
    func present(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
    invariant(same(order.ref, fields.purchaseref), "purchaseref \(show(order.ref))")
    invariant(!order.ref.isEmpty && order.ref.unicodeScalars.count <= 250 && !order.ref.unicodeScalars.contains(where: isControl),
              "purchaseref \(show(order.ref))")
    invariant((Amount.minimum...Amount.maximum).contains(order.amount.francs), "amount \(order.amount.francs)")
    invariant(same(order.amount.digits, fields.amount), "amount \(order.amount.digits) from \(fields.amount.map(show) ?? "nil")")
    invariant(same(order.currency, policy.currency), "currency \(show(order.currency))")
    invariant(same(order.description, present(fields.description)), "description")
    invariant(same(order.brand, present(fields.brand) ?? policy.brand), "brand")
    invariant(same(order.text, present(fields.text)), "text")
    for (name, value, limit) in [("description", order.description, 255), ("brand", order.brand, 150), ("text", order.text, 250)] {
        guard let value else { continue }
        invariant(value.unicodeScalars.count <= limit && !value.unicodeScalars.contains(where: isControl)
                  && !value.utf8.contains(UInt8(ascii: "<")) && !value.utf8.contains(UInt8(ascii: ">")), "\(name) \(show(value)) is not plain text of at most \(limit) characters")
    }
    invariant(order.language == (present(fields.language).flatMap(Language.init(rawValue:)) ?? policy.language), "language")
    if let phone = order.phone {
        let digits = phone.utf8.first == UInt8(ascii: "+") ? phone.utf8.dropFirst() : phone.utf8[...]
        invariant((8...16).contains(phone.utf8.count) && !digits.isEmpty && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 },
                  "phone \(show(phone))")
        invariant(fields.phone.map { sent in
            same(phone, String(sent.unicodeScalars.filter { $0 != " " && $0 != "-" && $0 != "." && $0 != "\u{A0}" }))
        } ?? false, "phone \(show(phone)) from \(fields.phone.map(show) ?? "nil")")
    } else {
        invariant(present(fields.phone) == nil, "a phone number was lost")
    }
    for (name, value, sent, fallback) in [
        ("accept_url", order.returnURLs.accept, fields.acceptURL, policy.defaultReturnURLs.accept),
        ("decline_url", order.returnURLs.decline, fields.declineURL, policy.defaultReturnURLs.decline),
        ("cancel_url", order.returnURLs.cancel, fields.cancelURL, policy.defaultReturnURLs.cancel),
    ] {
        invariant(same(value, present(sent) ?? fallback), "\(name) \(value.map(show) ?? "nil")")
        guard let value, present(sent) != nil else { continue }
        let components = URLComponents(string: value)
        invariant(value.unicodeScalars.count <= 150, "\(name) is longer than 150 characters")
        invariant(["http", "https"].contains(components?.scheme?.lowercased() ?? ""), "\(name) \(show(value)) is not http(s)")
        invariant(components?.host.map { Field.hostIsAllowed($0, policy.allowedReturnHosts) } ?? false,
                  "\(name) \(show(value)) is not on an allowed host")
        invariant(components?.user == nil && components?.password == nil, "\(name) \(show(value)) carries credentials")
    }
}

private func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
}

private func identical(_ a: NewOrder, _ b: NewOrder) -> Bool {
    a == b && same(a.ref, b.ref) && same(a.description, b.description) && same(a.brand, b.brand) && same(a.phone, b.phone)
        && same(a.text, b.text) && same(a.returnURLs.accept, b.returnURLs.accept)
        && same(a.returnURLs.decline, b.returnURLs.decline) && same(a.returnURLs.cancel, b.returnURLs.cancel)
}
