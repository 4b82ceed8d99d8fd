/// What an order file written by Cross 0.2 (TMoney Online only) held where orders now hold operator-neutral
/// events: `notifications` with TMoney's own parameters, `payment` with TMoney's names, and the details inline.
/// Read so that an upgrade keeps every order; written never (the next change of the order writes it anew).
struct LegacyOrderFields: Decodable {
    let details: OrderDetails
    let events: [EventRecord]
    let payment: Payment?

    private enum Keys: String, CodingKey {
        case description, phone, text, notifications, payment
        case returnURLs = "return_urls"
    }

    private struct NotificationRecord: Decodable {
        let notification: Notification
        let received_at: Timestamp
        let from: OrderStatus
        let to: OrderStatus
        let note: String?
    }

    /// TMoney Online's notification parameters, as 0.2 stored them.
    private struct Notification: Decodable {
        let purchaseref: String
        let amount: Int64
        let currency: String
        let status: String
        let clientid, cname, mobile, paymentref, payid, timestamp, error: String

        /// As TMoney Online's reader reads the same parameters today (`TMoneyOnline.Notification.event`).
        var event: PaymentEvent {
            let outcome: PaymentEvent.Outcome = switch (status, error) {
            case ("OK", _): .paid
            case (_, "CANCEL"): .cancelled
            case (_, "EXPIRED_SESSION"): .expired
            default: .declined
            }
            return PaymentEvent(
                operator: .tmoney, outcome: outcome, reason: error, purchaseref: purchaseref, amount: amount, currency: currency,
                transactionID: payid, receipt: paymentref, payer: Payer(account: clientid, name: cname, phone: mobile),
                occurredAt: timestamp)
        }
    }

    private struct LegacyPayment: Decodable {
        let payid, paymentref, clientid, cname, mobile, currency, timestamp: String
        let amount: Int64
        let received_at: Timestamp
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        let returnURLs = try container.decodeIfPresent(ReturnURLs.self, forKey: .returnURLs) ?? ReturnURLs()
        details = OrderDetails(
            description: try container.decodeIfPresent(String.self, forKey: .description),
            phone: try container.decodeIfPresent(String.self, forKey: .phone),
            text: try container.decodeIfPresent(String.self, forKey: .text),
            acceptURL: returnURLs.accept, declineURL: returnURLs.decline, cancelURL: returnURLs.cancel)
        events = try container.decode([NotificationRecord].self, forKey: .notifications).map {
            EventRecord(event: $0.notification.event, source: .notification, receivedAt: $0.received_at, from: $0.from, to: $0.to, note: $0.note)
        }
        payment = try container.decodeIfPresent(LegacyPayment.self, forKey: .payment).map { old in
            Payment(PaymentEvent(
                operator: .tmoney, outcome: .paid, purchaseref: "", amount: old.amount, currency: old.currency, transactionID: old.payid,
                receipt: old.paymentref, payer: Payer(account: old.clientid, name: old.cname, phone: old.mobile), occurredAt: old.timestamp),
                receivedAt: old.received_at)
        }
    }
}
