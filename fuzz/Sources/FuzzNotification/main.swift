// Payments.Notification.parse: TMoney's notification, as the query string of its GET on the notification URL.
//
// Input: a query string (`purchaseref=CMD-1001&amount=15000&currency=952&status=OK&...`), decoded with
// URLEncoding.parseForm as the notification endpoint does; input that does not decode is skipped.
//
// Invariants:
// - parse either throws ValidationErrors naming at least one field, each field named once, or returns a
//   notification that keeps the rules: a known status, an amount of at most 10 digits, 3-digit currency,
//   OK with a payid and a paymentref and no error, NOK with an error code;
// - its `parameters` parse to an equal notification, byte for byte, and so does the query string they encode
//   to (what the sandbox sends);
// - every value it keeps is, byte for byte, the value that was sent.
import FastCGI
import FuzzSupport
import Payments

private let known: Set<String> = [
    "purchaseref", "amount", "currency", "status", "clientid", "cname", "mobile", "paymentref", "payid", "timestamp", "error",
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNotification(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = text(data, count)
    guard let form = try? URLEncoding.parseForm(Substring(input)) else { return 0 }
    let notification: Payments.Notification
    do {
        notification = try Payments.Notification.parse(form.pairs)
    } catch {
        note("refused: \(error)")
        invariant(!error.errors.isEmpty, "a refused notification names no field")
        // A parameter given twice may be named twice: once as repeated, once for its first value.
        invariant(error.fields.allSatisfy { field in known.contains(field) || form.pairs.contains { same($0.name, field) } },
                  "a refusal names a field that is neither a notification parameter nor sent: \(error.fields)")
        return 0
    }
    note("accepted: \(notification)")
    check(notification, from: form.pairs)

    let again: Payments.Notification
    do {
        again = try Payments.Notification.parse(notification.parameters.map { (name: $0.0, value: $0.1) })
    } catch {
        fail("the parameters of \(notification) do not parse: \(error)")
    }
    invariant(identical(again, notification), "the parameters parse to \(again), not \(notification)")

    let query = URLEncoding.encodeForm(notification.parameters)
    do {
        let sent = try Payments.Notification.parse(URLEncoding.parseForm(Substring(query)).pairs)
        invariant(identical(sent, notification), "\(show(query)) parses to \(sent), not \(notification)")
    } catch {
        fail("\(show(query)) does not parse: \(error)")
    }
    return 0
}

private func check(_ notification: Payments.Notification, from pairs: [(name: String, value: String)]) {
    func sent(_ name: String) -> String { pairs.first { same($0.name, name) }?.value ?? "" }
    invariant(same(notification.purchaseref, sent("purchaseref")), "purchaseref")
    invariant(same(notification.currency, sent("currency")), "currency")
    invariant(same(notification.status.rawValue, sent("status")), "status \(notification.status) from \(show(sent("status")))")
    for (name, kept) in [
        ("clientid", notification.clientid), ("cname", notification.cname), ("mobile", notification.mobile),
        ("paymentref", notification.paymentref), ("payid", notification.payid), ("timestamp", notification.timestamp),
        ("error", notification.error),
    ] {
        invariant(same(kept, sent(name)), "\(name) \(show(kept)) from \(show(sent(name)))")
    }
    let amount = sent("amount")
    invariant(amount.utf8.count <= 10 && amount.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && Int64(amount) == notification.amount,
              "amount \(notification.amount) from \(show(amount))")
    invariant(notification.amount >= 0 && notification.amount <= 9_999_999_999, "amount \(notification.amount)")
    invariant(notification.currency.utf8.count == 3, "currency \(show(notification.currency))")
    switch notification.status {
    case .ok:
        invariant(notification.error.isEmpty && !notification.payid.isEmpty && !notification.paymentref.isEmpty,
                  "an OK notification needs a payid and a paymentref and no error")
        invariant(notification.outcome == .paid, "an OK notification leads to \(notification.outcome)")
    case .nok:
        invariant(!notification.error.isEmpty, "a NOK notification needs an error code")
        invariant(notification.outcome != .paid, "a NOK notification leads to paid")
    }
    invariant(notification.error.utf8.allSatisfy { ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || $0 == UInt8(ascii: "_") },
              "error \(show(notification.error))")
    invariant(notification.mobile.isEmpty || notification.mobile.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, "mobile")
    invariant(notification.timestamp.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, "timestamp")
    _ = notification.identity
}

/// Equal, and byte for byte so (`==` on strings is only canonical equivalence).
private func identical(_ a: Payments.Notification, _ b: Payments.Notification) -> Bool {
    a == b && zip(a.parameters, b.parameters).allSatisfy { same($0.1, $1.1) }
}
