// Payments.OrderFields.validate: an order request (`POST /api/orders`) checked against the spec's table and the
// merchant's policy.
//
// Input: the request's JSON body, read into OrderFields by the order API's own reader, `OrderFields.decode(json:)`
// (strings, and `amount` as a whole number or a string).
//
// Invariants:
// - validate either throws ValidationErrors naming at least one field of an order (`OrderFields.names`), each
//   once, or returns an order whose every field keeps the rules and is, byte for byte, what was sent (or the
//   policy's default; a phone number loses its spaces, dots and dashes);
// - every optional field is checked through the table `OrderDetails.fields` (so that a field added there is
//   covered here without a change): absent or empty, the order has the policy's default; sent, the order has
//   exactly what the field's rule makes of it, the rule keeps that value as it is, and a value the rule refuses
//   makes validate refuse the order naming that field; the known kinds (plain text, phone, return URL) are
//   also checked against their rules written out here;
// - that order, given back as fields, validates to the same order, byte for byte (validation is idempotent).
import Foundation
import FuzzSupport
import Payments

private let policy = OrderPolicy(
    currency: "952", brand: "Boutique Démo", language: .fr, allowedReturnHosts: ["shop.tg", "*.boutique.tg"],
    defaults: OrderDetails(acceptURL: "https://shop.tg/merci", cancelURL: "https://shop.tg/panier"))

/// What each known optional field must be, written out; a field of `OrderDetails.fields` not listed here gets the
/// generic checks only.
private enum Kind {
    case plainText(limit: Int)
    case phone
    case returnURL
}

private let kinds: [String: Kind] = [
    "description": .plainText(limit: 255), "text": .plainText(limit: 250), "phone": .phone,
    "accept_url": .returnURL, "decline_url": .returnURL, "cancel_url": .returnURL,
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOrderFields(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let (fields, shapeErrors) = try? OrderFields.decode(json: Array(bytes(data, count))) else {
        note("not a JSON object")
        return 0
    }
    note("fields of the wrong shape: \(shapeErrors)")
    invariant(fields.details.keys.allSatisfy(OrderDetails.names.contains), "details that are not an order's: \(fields.details.keys)")
    let order: NewOrder
    do {
        order = try fields.validate(policy)
    } catch {
        note("refused: \(error)")
        invariant(!error.errors.isEmpty, "a refused order names no field")
        invariant(error.fields.allSatisfy(OrderFields.names.contains), "an unknown field in \(error.fields)")
        invariant(Set(error.fields).count == error.fields.count, "a field is named twice: \(error.fields)")
        for field in OrderDetails.fields {
            guard let sent = present(fields.details[field.name]) else {
                invariant(!error.fields.contains(field.name), "\(field.name) is refused though it was not sent")
                continue
            }
            let refused = (try? field.check(sent, policy)) == nil
            invariant(refused == error.fields.contains(field.name),
                      "\(field.name) \(show(sent)) is \(refused ? "refused by its rule but not named" : "kept by its rule but named")")
        }
        return 0
    }
    note("valid: \(order)")
    check(order, from: fields)

    let again: NewOrder
    do {
        again = try OrderFields(
            purchaseref: order.ref, amount: order.amount.digits, currency: order.currency, brand: order.brand,
            language: order.language.rawValue, details: Dictionary(uniqueKeysWithValues: order.details.values.map { ($0.name, $0.value) })
        ).validate(policy)
    } catch {
        fail("a valid order, given back as fields, is refused: \(error)")
    }
    invariant(identical(again, order), "a valid order, given back as fields, validates to another order")
    return 0
}

/// Empty optional fields count as absent.
private func present(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }

private func check(_ order: NewOrder, from fields: OrderFields) {
    invariant(same(order.ref, fields.purchaseref), "purchaseref \(show(order.ref))")
    invariant(!order.ref.isEmpty && order.ref.unicodeScalars.count <= 250 && !order.ref.unicodeScalars.contains(where: isControl),
              "purchaseref \(show(order.ref))")
    invariant((Amount.minimum...Amount.maximum).contains(order.amount.francs), "amount \(order.amount.francs)")
    invariant(same(order.amount.digits, fields.amount), "amount \(order.amount.digits) from \(fields.amount.map(show) ?? "nil")")
    invariant(same(order.currency, policy.currency), "currency \(show(order.currency))")
    invariant(same(order.brand, present(fields.brand) ?? policy.brand), "brand")
    checkPlainText("brand", order.brand, limit: 150)
    invariant(order.language == (present(fields.language).flatMap(Language.init(rawValue:)) ?? policy.language), "language")

    for field in OrderDetails.fields {
        let kept = order.details[keyPath: field.keyPath]
        guard let sent = present(fields.details[field.name]) else {
            invariant(same(kept, policy.defaults[keyPath: field.keyPath]), "\(field.name) \(kept.map(show) ?? "nil") is not the default")
            continue
        }
        guard let kept else { fail("\(field.name) \(show(sent)) was lost") }
        guard let made = try? field.check(sent, policy) else { fail("\(field.name): its rule refuses \(show(sent)), and the order was accepted") }
        invariant(same(kept, made), "\(field.name) \(show(kept)) is not what its rule makes of \(show(sent)), \(show(made))")
        let again = try? field.check(kept, policy)
        invariant(same(again, kept), "\(field.name): its rule makes \(again.map(show) ?? "a refusal") of \(show(kept))")
        switch kinds[field.name] {
        case .plainText(let limit):
            invariant(same(kept, sent), "\(field.name) \(show(kept)) from \(show(sent))")
            checkPlainText(field.name, kept, limit: limit)
        case .phone:
            let digits = kept.utf8.first == UInt8(ascii: "+") ? kept.utf8.dropFirst() : kept.utf8[...]
            invariant((8...16).contains(kept.utf8.count) && !digits.isEmpty && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 },
                      "phone \(show(kept))")
            invariant(same(kept, String(sent.unicodeScalars.filter { $0 != " " && $0 != "-" && $0 != "." && $0 != "\u{A0}" })),
                      "phone \(show(kept)) from \(show(sent))")
        case .returnURL:
            invariant(same(kept, sent), "\(field.name) \(show(kept)) from \(show(sent))")
            let components = URLComponents(string: kept)
            invariant(kept.unicodeScalars.count <= 150, "\(field.name) is longer than 150 characters")
            invariant(["http", "https"].contains(components?.scheme?.lowercased() ?? ""), "\(field.name) \(show(kept)) is not http(s)")
            invariant(components?.host.map { FieldRule.hostIsAllowed($0, policy.allowedReturnHosts) } ?? false,
                      "\(field.name) \(show(kept)) is not on an allowed host")
            invariant(components?.user == nil && components?.password == nil, "\(field.name) \(show(kept)) carries credentials")
        case nil:
            break
        }
    }
}

private func checkPlainText(_ name: String, _ value: String, limit: Int) {
    invariant(value.unicodeScalars.count <= limit && !value.unicodeScalars.contains(where: isControl)
              && !value.utf8.contains(UInt8(ascii: "<")) && !value.utf8.contains(UInt8(ascii: ">")),
              "\(name) \(show(value)) is not plain text of at most \(limit) characters")
}

private func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
}

private func identical(_ a: NewOrder, _ b: NewOrder) -> Bool {
    a == b && same(a.ref, b.ref) && same(a.brand, b.brand)
        && OrderDetails.fields.allSatisfy { same(a.details[keyPath: $0.keyPath], b.details[keyPath: $0.keyPath]) }
}
