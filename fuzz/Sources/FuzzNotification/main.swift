// TMoneyOnline.Notification.parse: TMoney's notification, as the query string of its GET on the notification URL.
//
// Input: a query string (`purchaseref=CMD-1001&amount=15000&currency=952&status=OK&...`), decoded with
// URLEncoding.parseForm as the notification endpoint does; input that does not decode is skipped.
//
// Invariants:
// - parse either throws ValidationErrors naming at least one field, each a notification parameter or one that
//   was sent, or returns a
//   notification that keeps the rules: a known status, an amount of at most 10 digits, 3-digit currency,
//   OK with a payid and a paymentref and no error, NOK with an error code;
// - its `event` (what the order lifecycle is given) says the same: paid for OK, and for NOK cancelled
//   (`CANCEL`), expired (`EXPIRED_SESSION`) or declined, with the amount, currency, reference, payid,
//   paymentref, payer and timestamp carried over byte for byte; its identity (how a repeated delivery is
//   told) ignores the payer and changes with the payid;
// - its `parameters` parse to an equal notification, byte for byte, and so does the query string they encode
//   to (what the sandbox sends);
// - every value it keeps is, byte for byte, the value that was sent.
import FastCGI
import FuzzSupport
import Payments
import TMoneyOnline

private let known: Set<String> = [
    "purchaseref", "amount", "currency", "status", "clientid", "cname", "mobile", "paymentref", "payid", "timestamp", "error",
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNotification(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = text(data, count)
    guard let form = try? URLEncoding.parseForm(Substring(input)) else { return 0 }
    let notification: TMoneyOnline.Notification
    do {
        notification = try TMoneyOnline.Notification.parse(form.pairs)
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

    let again: TMoneyOnline.Notification
    do {
        again = try TMoneyOnline.Notification.parse(notification.parameters.map { (name: $0.0, value: $0.1) })
    } catch {
        fail("the parameters of \(notification) do not parse: \(error)")
    }
    invariant(identical(again, notification), "the parameters parse to \(again), not \(notification)")

    let query = URLEncoding.encodeForm(notification.parameters)
    do {
        let sent = try TMoneyOnline.Notification.parse(URLEncoding.parseForm(Substring(query)).pairs)
        invariant(identical(sent, notification), "\(show(query)) parses to \(sent), not \(notification)")
    } catch {
        fail("\(show(query)) does not parse: \(error)")
    }
    return 0
}

private func check(_ notification: TMoneyOnline.Notification, from pairs: [(name: String, value: String)]) {
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
    case .nok:
        invariant(!notification.error.isEmpty, "a NOK notification needs an error code")
    }
    checkEvent(notification)
    invariant(notification.error.utf8.allSatisfy { ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || $0 == UInt8(ascii: "_") },
              "error \(show(notification.error))")
    invariant(notification.mobile.isEmpty || notification.mobile.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, "mobile")
    invariant(notification.timestamp.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, "timestamp")
}

/// The notification in Cross's words: the outcome its status and error code mean, and every value carried over.
private func checkEvent(_ notification: TMoneyOnline.Notification) {
    let event = notification.event
    let expected: PaymentEvent.Outcome = switch notification.status {
    case .ok: .paid
    case .nok where same(notification.error, "CANCEL"): .cancelled
    case .nok where same(notification.error, "EXPIRED_SESSION"): .expired
    case .nok: .declined
    }
    invariant(event.outcome == expected, "\(notification.status) \(show(notification.error)) leads to \(event.outcome), not \(expected)")
    invariant(event.operator == .tmoney, "an event of TMoney Online's names \(event.operator)")
    invariant(event.status.rawValue == expected.rawValue, "a \(expected) event leads an order to \(event.status)")
    invariant(same(event.purchaseref, notification.purchaseref) && event.amount == notification.amount
              && same(event.currency, notification.currency), "the event's order or amount differ from the notification's")
    invariant(same(event.reason, notification.error) && same(event.transactionID, notification.payid)
              && same(event.receipt, notification.paymentref) && same(event.occurredAt, notification.timestamp),
              "the event's reason, transaction id, receipt or time differ from the notification's")
    invariant(same(event.payer.account, notification.clientid) && same(event.payer.name, notification.cname)
              && same(event.payer.phone, notification.mobile), "the event's payer differs from the notification's")
    // The identity tells deliveries of one event apart from other events: a copy with another payer is the same one.
    let copy = TMoneyOnline.Notification(
        purchaseref: notification.purchaseref, amount: notification.amount, currency: notification.currency, status: notification.status,
        clientid: notification.clientid + "x", cname: notification.cname, mobile: notification.mobile, paymentref: notification.paymentref,
        payid: notification.payid, timestamp: notification.timestamp, error: notification.error)
    invariant(same(copy.event.identity, event.identity), "a change of payer changes the event's identity")
    if !notification.payid.isEmpty {
        let other = TMoneyOnline.Notification(
            purchaseref: notification.purchaseref, amount: notification.amount, currency: notification.currency, status: notification.status,
            clientid: notification.clientid, cname: notification.cname, mobile: notification.mobile, paymentref: notification.paymentref,
            payid: notification.payid + "0", timestamp: notification.timestamp, error: notification.error)
        invariant(!same(other.event.identity, event.identity), "two payids share the event's identity")
    }
}

/// Equal, and byte for byte so (`==` on strings is only canonical equivalence).
private func identical(_ a: TMoneyOnline.Notification, _ b: TMoneyOnline.Notification) -> Bool {
    a == b && zip(a.parameters, b.parameters).allSatisfy { same($0.1, $1.1) }
}
