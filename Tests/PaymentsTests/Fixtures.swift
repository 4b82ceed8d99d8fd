@testable import Payments
import TMoneyOnline

enum Fixtures {
    static let now = Timestamp(seconds: 1_800_000_000)

    static let policy = OrderPolicy(
        currency: "952", brand: "Boutique Démo", language: .fr, allowedReturnHosts: ["shop.tg", "*.boutique.tg"],
        defaults: OrderDetails(acceptURL: "https://shop.tg/merci"))

    static func newOrder(ref: String = "CMD-1001", amount: Int64 = 15000, phone: String? = nil, description: String? = "Sac de riz") -> NewOrder {
        NewOrder(
            ref: ref, amount: Amount(francs: amount)!, currency: "952", brand: "Boutique Démo", language: .fr,
            details: OrderDetails(description: description, phone: phone))
    }

    static func order(status: OrderStatus = .pending, paidWith payid: String? = nil) -> Order {
        var order = Order(newOrder(), createdAt: now, lifetimeSeconds: 86_400)
        order.status = status
        if let payid {
            order.payment = Payment(PaymentEvent(
                operator: .tmoney, outcome: .paid, purchaseref: order.ref, amount: 15000, currency: "952", transactionID: payid,
                receipt: "PR-" + payid, payer: Payer(account: "C1", name: "Kofi", phone: "22890000001"), occurredAt: "1800000000"),
                receivedAt: now)
        }
        return order
    }

    static func ok(payid: String = "P1", amount: Int64 = 15000, currency: String = "952") -> TMoneyOnline.Notification {
        TMoneyOnline.Notification(
            purchaseref: "CMD-1001", amount: amount, currency: currency, status: .ok, clientid: "C1", cname: "Kofi Mensah",
            mobile: "22890000001", paymentref: "PR-" + payid, payid: payid, timestamp: "1800000100", error: "")
    }

    static func nok(_ error: String, payid: String = "", timestamp: String = "1800000100") -> TMoneyOnline.Notification {
        TMoneyOnline.Notification(
            purchaseref: "CMD-1001", amount: 15000, currency: "952", status: .nok, clientid: "C1", cname: "Kofi Mensah",
            mobile: "22890000001", paymentref: "", payid: payid, timestamp: timestamp, error: error)
    }

    /// A TMoney Online attempt: a session id issued at `at`.
    static func attempt(_ session: String = "12345678901234567890123456789012", at: Timestamp = now, lifetime: Int64 = 180) -> Attempt {
        Attempt(operator: .tmoney, method: .redirect, reference: session, issuedAt: at, expiresAt: at.adding(seconds: lifetime))
    }
}

/// The lifecycle as TMoney Online's notifications drive it: each read into its event, as Cross's endpoint does.
extension OrderLifecycle {
    static func apply(_ notification: TMoneyOnline.Notification, to order: inout Order, at now: Timestamp) -> EventEffect {
        apply(notification.event, source: .notification, to: &order, at: now)
    }
}
