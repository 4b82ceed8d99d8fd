import FastCGI
import Foundation
import OrderStore
import Payments

/// TMoney's server-to-server notification (`GET /notify?purchaseref=…&status=OK&…`): the only thing that
/// marks an order paid. Every call is journaled, accepted or refused, and the answer (200 `OK`) goes out only
/// once the notification is durable.
extension Application {
    func notify(_ request: Request) throws -> Response {
        let now = Timestamp.now()
        let remote = request.remoteAddress
        guard configuration.notificationAllowlist.allows(remote) else {
            try refuse(request, at: now, status: .forbidden, reason: "source address \(remote) is not in notification_allowlist")
            throw HTTPError(.forbidden, "Forbidden: this address may not send notifications.")
        }
        let notification: Payments.Notification
        do {
            notification = try Payments.Notification.parse(request.query.pairs)
        } catch {
            try refuse(request, at: now, status: .badRequest, reason: error.description)
            throw HTTPError(.badRequest, "Bad notification: \(error.description)")
        }
        let key = OrderKey(ref: notification.purchaseref)
        let updated: (order: Order, result: NotificationEffect?)?
        do {
            updated = try store.update(key) { (order: inout Order) throws -> (record: JournalRecord, result: NotificationEffect?) in
                guard order.ref == notification.purchaseref else { return (JournalRecord(at: now, kind: .notificationRefused), nil) }
                let effect = OrderLifecycle.apply(notification, to: &order, at: now)
                var record = JournalRecord(at: now, kind: effect == .duplicate ? .notificationDuplicate : .notificationApplied)
                record.notification = notification
                record.remote = remote
                record.answer = 200
                record.key = order.key
                record.ref = order.ref
                if case .applied(let from, let to, let note) = effect {
                    record.from = from
                    record.to = to
                    record.reason = note
                    // Merchants hear of every status a payment ends in: a webhook event, durable with the change
                    // (none when no endpoint is configured: there is nobody to tell).
                    if from != to && to != .pending && !configuration.webhooks.isEmpty { record.event = "order." + to.rawValue }
                }
                return (record, effect)
            }
        } catch let error as StoreError {
            // The notification is journaled even when its order cannot be read, so that it is not lost.
            if case .damaged = error { try? refuse(request, at: now, status: .internalServerError, reason: "\(error)") }
            return try storeCall { throw error }
        }
        guard let (order, effect) = updated, let effect else {
            try refuse(request, at: now, status: .notFound, reason: "no order with this purchaseref")
            throw HTTPError(.notFound, "Unknown purchaseref.")
        }
        var metadata: [String: String] = [
            "ref": order.ref, "order": order.key.hex, "notified": notification.status.rawValue,
            "payid": notification.payid, "amount": String(notification.amount),
        ]
        if !notification.error.isEmpty { metadata["error"] = notification.error }
        switch effect {
        case .duplicate:
            logger.info("notification repeated: no change", metadata: metadata.mapValues { .string($0) })
        case .applied(let from, let to, let note):
            metadata["from"] = from.rawValue
            metadata["to"] = to.rawValue
            if let note { metadata["note"] = note }
            if to == .review {
                logger.warning("order needs review", metadata: metadata.mapValues { .string($0) })
            } else {
                logger.info(from == to ? "notification recorded" : "order status changed", metadata: metadata.mapValues { .string($0) })
            }
        }
        return .text("OK")
    }

    /// Journals a refused notification with its parameters as they came, then logs it.
    private func refuse(_ request: Request, at now: Timestamp, status: HTTPStatus, reason: String) throws {
        var record = JournalRecord(at: now, kind: .notificationRefused)
        record.remote = request.remoteAddress
        record.answer = status.code
        record.reason = reason
        // Parameters are kept within bounds: a refused caller must not be able to fill the disk.
        record.parameters = request.query.pairs.prefix(32).map { [String($0.name.prefix(64)), String($0.value.prefix(512))] }
        if let ref = request.query["purchaseref"] { record.ref = String(ref.prefix(250)) }
        try storeCall { try store.journalRefused(record) }
        logger.warning("notification refused", metadata: [
            "status": "\(status.code)", "remote": "\(request.remoteAddress)", "reason": "\(reason)",
            "ref": "\(request.query["purchaseref"]?.prefix(250) ?? "")",
        ])
    }
}
