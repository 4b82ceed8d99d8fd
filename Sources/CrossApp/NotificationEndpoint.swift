import Cashier
import FastCGI
import Foundation
import Metrics
import OrderStorage
import Payments
import TMoneyOnline

/// TMoney Online's server-to-server notification (`GET /notify?purchaseref=…&status=OK&…`): the only thing that
/// marks a redirect payment paid. Every call from an allowed address is recorded, accepted or refused (within a
/// byte bound), and the answer (200 `OK`) goes out only once the notification is durable; a call from any other
/// address is counted and logged, not recorded. What it does to the order is the cashier's.
extension Application {
    func notify(_ request: Request) throws -> Response {
        // What became of it, counted whichever way it ends (`failed`: the store could not record it).
        var outcome = "failed"
        defer { Counter(label: "cross_notifications_total", dimensions: [("outcome", outcome)]).increment() }
        let remote = request.remoteAddress
        guard configuration.notificationAllowlist.allows(remote) else {
            // Not TMoney: counted and logged a line a minute per address, never journaled (a stranger must not be
            // able to fill the disk or the log).
            cashier.refuseSource(remote, channel: "notification")
            outcome = "forbidden_address"
            throw HTTPError(.forbidden, "Forbidden: this address may not send notifications.")
        }
        let notification: TMoneyOnline.Notification
        do {
            notification = try TMoneyOnline.Notification.parse(request.query.pairs)
        } catch {
            try refuse(request, status: .badRequest, reason: error.description)
            outcome = "invalid"
            throw HTTPError(.badRequest, "Bad notification: \(error.description)")
        }
        let applied: Cashier.EventOutcome
        do {
            applied = try cashier.apply(notification.event, source: .notification, remote: remote)
        } catch let error as StoreError {
            // The notification is recorded even when its order cannot be read, so that it is not lost.
            if case .damaged = error { try? refuse(request, status: .internalServerError, reason: "\(error)") }
            throw error
        }
        guard case .applied(_, let effect) = applied else {
            try refuse(request, status: .notFound, reason: "no order with this purchaseref")
            outcome = "unknown_order"
            throw HTTPError(.notFound, "Unknown purchaseref.")
        }
        outcome = effect == .duplicate ? "duplicate" : "applied"
        return .text("OK")
    }

    private func refuse(_ request: Request, status: HTTPStatus, reason: String) throws(StoreError) {
        try cashier.refuse(RefusedCall(
            channel: "notification", at: cashier.now, remote: request.remoteAddress, answer: status.code, reason: reason,
            parameters: request.query.pairs, ref: request.query["purchaseref"]))
    }
}
