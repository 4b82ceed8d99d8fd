import FastCGI
import Foundation
import OrderStorage
import Payments
import WebPages

extension Dashboard {
    /// `/admin/orders/<key>`: one order read from the store, with its webhook events from the outbox. A redirect
    /// attempt's session id is shown shortened (`Attempt.shownReference`): the full id is a bearer credential for
    /// the shopper's payment.
    func order(_ language: Language, _ request: Request) throws -> Response {
        let words = pages.strings
        let back = "/admin/orders?lang=" + language.rawValue
        let other: Language = language == .fr ? .en : .fr
        let path = "/admin/orders/" + (request.routeParameters["key"] ?? "")
        var context: [String: Any] = [
            "nav": [
                "orders": back, "totals": "/admin/totals?lang=" + language.rawValue, "payouts": "/admin/payouts?lang=" + language.rawValue,
                "otherLanguage": path + "?lang=" + other.rawValue, "otherLanguageCode": other.rawValue,
            ],
            "backURL": back,
        ]
        guard let key = request.routeParameters["key"].flatMap(OrderKey.init(hex:)), let order = try store.load(key) else {
            context["heading"] = words.word("admin_not_found", language)
            return pages.page("admin-message", language, title: words.word("admin_not_found", language), context, status: .notFound)
        }
        context["order"] = Self.fields(order, words, language)
        context["attempts"] = order.attempts.reversed().map { attempt -> [String: Any] in
            var row: [String: Any] = [
                "issued": AdminFormat.time(attempt.issuedAt), "expires": AdminFormat.time(attempt.expiresAt),
                "operator": attempt.operator.displayName, "method": attempt.method.rawValue, "session": attempt.shownReference,
                "phone": attempt.phone?.displayed ?? "",
            ]
            // A push attempt's last status call (reconciliation, a callback's confirmation).
            if let check = attempt.lastCheck {
                row["lastCheck"] = AdminFormat.time(check.at) + " · " + check.result + " (\(check.count))"
            } else if attempt.method == .push {
                row["lastCheck"] = words.word(attempt.isSettled(in: order) ? "admin_check_settled" : "admin_check_none", language)
            }
            return row
        }
        context["refunds"] = order.refunds.reversed().map { refund -> [String: Any] in
            var row: [String: Any] = [
                "created": AdminFormat.time(refund.createdAt), "id": refund.id, "amount": Amount.formatted(francs: refund.amount),
                "status": refund.status.rawValue, "statusLabel": words.word("refund_status_" + refund.status.rawValue, language),
                "phone": refund.phone.displayed, "reason": refund.reason, "operatorReference": refund.operatorReference ?? "",
                "failure": refund.failure ?? "", "sends": String(refund.sends),
            ]
            if let check = refund.lastCheck { row["lastCheck"] = AdminFormat.time(check.at) + " · " + check.result }
            return row
        }
        context["hasRefunds"] = !order.refunds.isEmpty
        context["refunded"] = Amount.formatted(francs: order.refundedAmount)
        context["notifications"] = order.events.reversed().map { record -> [String: Any] in
            let event = record.event
            var row: [String: Any] = [
                "received": AdminFormat.time(record.receivedAt), "operator": event.operator.displayName,
                "status": event.outcome == .paid ? "OK" : "NOK", "outcome": event.outcome.rawValue, "source": record.source.rawValue,
                "error": event.reason, "amount": Amount.formatted(francs: event.amount), "currency": event.currency,
                "payid": event.transactionID, "paymentref": event.receipt, "mobile": event.payer.phone,
                "from": words.word("status_" + record.from.rawValue, language),
                "to": words.word("status_" + record.to.rawValue, language), "toStatus": record.to.rawValue,
            ]
            if let note = record.note { row["note"] = note }
            return row
        }
        context["events"] = Self.events(order, store.outbox, words, language)
        return pages.page("admin-order", language, title: order.ref + " · Cross", context)
    }

    static func fields(_ order: Order, _ words: StringTable, _ language: Language) -> [String: Any] {
        var fields: [String: Any] = [
            "ref": order.ref, "key": order.key.hex, "status": order.status.rawValue,
            "statusLabel": words.word("status_" + order.status.rawValue, language),
            "amount": order.amount.formatted, "currency": order.currency, "brand": order.brand,
            "language": order.language.rawValue, "created": AdminFormat.time(order.createdAt),
            "updated": AdminFormat.time(order.updatedAt), "expires": AdminFormat.time(order.expiresAt),
            "revision": String(order.revision),
            // The order's operator (the payment's, else the latest attempt's), as the list shows it; the payment's
            // own is in its block below.
            "operatorName": order.operator?.displayName ?? words.word("admin_operator_none", language),
            // Every optional field the merchant gave, by its name.
            "details": order.details.values.map { field -> [String: String] in
                let key = "admin_field_" + field.name
                let label = words.word(key, language)
                return ["label": label == key ? field.name : label, "value": field.value]
            },
            "hasDetails": !order.details.values.isEmpty,
            "reviewReasons": order.reviewReasons, "hasReviewReasons": !order.reviewReasons.isEmpty,
        ]
        if let payment = order.payment {
            fields["payment"] = [
                "operator": payment.operator.displayName, "paymentref": payment.receipt, "payid": payment.transactionID,
                "mobile": payment.payer.phone, "cname": payment.payer.name, "clientid": payment.payer.account,
                "amount": Amount.formatted(francs: payment.amount), "currency": payment.currency,
                "received": AdminFormat.time(payment.receivedAt), "timestamp": payment.occurredAt,
            ]
        }
        return fields
    }

    /// The order's webhook events, newest first. Each change that raised one has the id
    /// `<key>-<revision>`: looked up by name in the outbox, never by listing it (the `sent` folder may hold an
    /// event for every order ever paid).
    static func events(_ order: Order, _ outbox: any WebhookOutbox, _ words: StringTable, _ language: Language) -> [[String: Any]] {
        var events: [[String: Any]] = []
        for revision in stride(from: order.revision, through: 1, by: -1) {
            let id = OutboxEvent.id(order.key, revision: revision)
            let found: (event: OutboxEvent, folder: OutboxFolder)?
            do {
                found = try outbox.load(id)
            } catch {
                events.append(["id": id, "type": "?", "folder": "damaged", "folderLabel": "\(error)", "deliveries": [[String: Any]]()])
                continue
            }
            guard let (event, folder) = found else { continue }
            events.append([
                "id": event.id, "type": event.type, "folder": folder.rawValue,
                "folderLabel": words.word("admin_folder_" + folder.rawValue, language),
                "created": AdminFormat.time(event.createdAt),
                "deliveries": event.deliveries.map { delivery -> [String: Any] in
                    var row: [String: Any] = [
                        "endpoint": delivery.endpoint, "attempts": String(delivery.attempts),
                        "lastStatus": delivery.lastStatus.map(String.init) ?? "", "lastError": delivery.lastError ?? "",
                    ]
                    if let delivered = delivery.deliveredAt {
                        row["delivered"] = AdminFormat.time(delivered)
                    } else if folder == .pending {
                        row["next"] = AdminFormat.time(delivery.nextAttemptAt)
                    }
                    return row
                },
            ])
        }
        return events
    }
}
