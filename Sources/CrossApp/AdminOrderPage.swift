import FastCGI
import Foundation
import OrderStore
import Payments

extension AdminDashboard {
    /// `/admin/orders/<key>`: one order read from its file, with its webhook events from the outbox. Session ids
    /// are shown shortened (`SessionID.redacted`): the full id is a bearer credential for the shopper's payment.
    func order(_ language: Language, _ request: Request, _ application: Application) throws -> Response {
        let words = application.pages.strings
        let back = "/admin/orders?lang=" + language.rawValue
        let other: Language = language == .fr ? .en : .fr
        let path = "/admin/orders/" + (request.routeParameters["key"] ?? "")
        var context: [String: Any] = [
            "nav": [
                "orders": back, "totals": "/admin/totals?lang=" + language.rawValue,
                "otherLanguage": path + "?lang=" + other.rawValue, "otherLanguageCode": other.rawValue,
            ],
            "backURL": back,
        ]
        guard let key = request.routeParameters["key"].flatMap(OrderKey.init(hex:)),
              let order = try application.storeCall({ try application.store.load(key) }) else {
            context["heading"] = words.word("admin_not_found", language)
            return application.pages.page("admin-message", language, title: words.word("admin_not_found", language), context, status: .notFound)
        }
        context["order"] = Self.fields(order, words, language)
        context["attempts"] = order.attempts.reversed().map { attempt in
            [
                "issued": AdminFormat.time(attempt.issuedAt), "expires": AdminFormat.time(attempt.expiresAt),
                "session": attempt.sessionID.redacted,
            ]
        }
        context["notifications"] = order.notifications.reversed().map { record -> [String: Any] in
            let notification = record.notification
            var row: [String: Any] = [
                "received": AdminFormat.time(record.receivedAt), "status": notification.status.rawValue,
                "error": notification.error, "amount": AdminFormat.amount(notification.amount), "currency": notification.currency,
                "payid": notification.payid, "paymentref": notification.paymentref, "mobile": notification.mobile,
                "from": words.word("status_" + record.from.rawValue, language),
                "to": words.word("status_" + record.to.rawValue, language), "toStatus": record.to.rawValue,
            ]
            if let note = record.note { row["note"] = note }
            return row
        }
        context["events"] = Self.events(order, application.store.outbox, words, language)
        return application.pages.page("admin-order", language, title: order.ref + " · Cross", context)
    }

    static func fields(_ order: Order, _ words: Strings, _ language: Language) -> [String: Any] {
        var fields: [String: Any] = [
            "ref": order.ref, "key": order.key.hex, "status": order.status.rawValue,
            "statusLabel": words.word("status_" + order.status.rawValue, language),
            "amount": AdminFormat.amount(order.amount.francs), "currency": order.currency, "brand": order.brand,
            "language": order.language.rawValue, "created": AdminFormat.time(order.createdAt),
            "updated": AdminFormat.time(order.updatedAt), "expires": AdminFormat.time(order.expiresAt),
            "revision": String(order.revision),
            "returnURLs": [
                ("accept", order.returnURLs.accept), ("decline", order.returnURLs.decline), ("cancel", order.returnURLs.cancel),
            ].compactMap { name, url in url.map { ["name": name, "url": $0] } },
            "reviewReasons": order.reviewReasons, "hasReviewReasons": !order.reviewReasons.isEmpty,
        ]
        fields["hasReturnURLs"] = !(fields["returnURLs"] as! [[String: String]]).isEmpty
        if let description = order.description { fields["description"] = description }
        if let phone = order.phone { fields["phone"] = phone }
        if let text = order.text { fields["text"] = text }
        if let payment = order.payment {
            fields["payment"] = [
                "paymentref": payment.paymentref, "payid": payment.payid, "mobile": payment.mobile, "cname": payment.cname,
                "clientid": payment.clientid, "amount": AdminFormat.amount(payment.amount), "currency": payment.currency,
                "received": AdminFormat.time(payment.receivedAt), "timestamp": payment.timestamp,
            ]
        }
        return fields
    }

    /// The order's webhook events, newest first. Each change that raised one has the id
    /// `<key>-<revision>`: looked up by name in the outbox's folders, never by listing them (the `sent`
    /// folder may hold an event for every order ever paid).
    static func events(_ order: Order, _ outbox: Outbox, _ words: Strings, _ language: Language) -> [[String: Any]] {
        var events: [[String: Any]] = []
        for revision in stride(from: order.revision, through: 1, by: -1) {
            let id = Outbox.eventID(order.key, revision: revision)
            let found: (event: OutboxEvent, folder: Outbox.Folder)?
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
