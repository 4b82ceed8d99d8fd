@testable import Payments

enum Fixtures {
    static let now = Timestamp(seconds: 1_800_000_000)

    static let policy = OrderPolicy(
        currency: "952", brand: "Boutique Démo", language: .fr, allowedReturnHosts: ["shop.tg", "*.boutique.tg"],
        defaultReturnURLs: ReturnURLs(accept: "https://shop.tg/merci"))

    static func newOrder(ref: String = "CMD-1001", amount: Int64 = 15000, phone: String? = nil, description: String? = "Sac de riz") -> NewOrder {
        NewOrder(
            ref: ref, amount: Amount(francs: amount)!, currency: "952", description: description, brand: "Boutique Démo",
            phone: phone, language: .fr, text: nil, returnURLs: ReturnURLs())
    }

    static func order(status: OrderStatus = .pending, paidWith payid: String? = nil) -> Order {
        var order = Order(newOrder(), createdAt: now, lifetimeSeconds: 86_400)
        order.status = status
        if let payid {
            order.payment = Payment(
                payid: payid, paymentref: "PR-" + payid, clientid: "C1", cname: "Kofi", mobile: "22890000001", amount: 15000,
                currency: "952", timestamp: "1800000000", receivedAt: now)
        }
        return order
    }

    static func ok(payid: String = "P1", amount: Int64 = 15000, currency: String = "952") -> Notification {
        Notification(
            purchaseref: "CMD-1001", amount: amount, currency: currency, status: .ok, clientid: "C1", cname: "Kofi Mensah",
            mobile: "22890000001", paymentref: "PR-" + payid, payid: payid, timestamp: "1800000100", error: "")
    }

    static func nok(_ error: String, payid: String = "", timestamp: String = "1800000100") -> Notification {
        Notification(
            purchaseref: "CMD-1001", amount: 15000, currency: "952", status: .nok, clientid: "C1", cname: "Kofi Mensah",
            mobile: "22890000001", paymentref: "", payid: payid, timestamp: timestamp, error: error)
    }
}
