import Foundation
import Testing
import Cashier
@testable import FlatFileStore
import OrderStorage
@testable import Payments
import TMoneyOnline

/// The store writes JSON by hand for speed: it must say exactly what Foundation's encoder says.
@Suite struct EncodingTests {
    static let foundation: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func richOrder(ref: String, description: String?) -> Order {
        var order = Order(
            NewOrder(
                ref: ref, amount: Amount(francs: 1_234_567)!, currency: "952", brand: "Chez \"Ama\" & Fils", language: .en,
                details: OrderDetails(
                    description: description, phone: "+22890000001", text: "Merci / thanks", acceptURL: "https://shop.tg/a?b=1&c=2",
                    cancelURL: "https://shop.tg/c")),
            createdAt: Timestamp(seconds: 1_800_000_000), lifetimeSeconds: 600)
        let attempt = Attempt(
            operator: .tmoney, method: .redirect, reference: "27875690759565722269644474422394", issuedAt: Timestamp(seconds: 1_800_000_010),
            expiresAt: Timestamp(seconds: 1_800_000_190))
        try! OrderLifecycle.startAttempt(&order, attempt, at: Timestamp(seconds: 1_800_000_010))
        let cancel = TMoneyOnline.Notification(purchaseref: ref, amount: 1_234_567, currency: "952", status: .nok, error: "CANCEL")
        _ = OrderLifecycle.apply(cancel.event, source: .notification, to: &order, at: Timestamp(seconds: 1_800_000_020))
        let paid = TMoneyOnline.Notification(
            purchaseref: ref, amount: 12, currency: "952", status: .ok, clientid: "C\u{1}", cname: "Kofi Mensah\tJr", mobile: "22890000001",
            paymentref: "PR\\1", payid: "P\"1", timestamp: "1800000030")
        _ = OrderLifecycle.apply(paid.event, source: .notification, to: &order, at: Timestamp(seconds: 1_800_000_030))
        return order
    }

    @Test func sameBytesAsFoundationForOrdinaryOrders() throws {
        for order in [Self.richOrder(ref: "CMD-1001", description: "Sac de riz"), Order(
            NewOrder(ref: "min", amount: Amount(francs: 100)!, currency: "952", brand: "B", language: .fr),
            createdAt: Timestamp(seconds: 0), lifetimeSeconds: 60)] {
            #expect(String(decoding: JSONBytes.encode(order), as: UTF8.self) == String(decoding: try Self.foundation.encode(order), as: UTF8.self))
        }
    }

    @Test("awkward strings survive the round trip", arguments: [
        "../../x", "é" + String(repeating: "é", count: 249), "quote \" backslash \\ slash /", "line\nbreak\r\ttab", "\u{0}\u{1F}\u{7F}",
        "😀 émoji", "\u{2028}\u{2029}", "</script>",
    ])
    func roundTrip(text: String) throws {
        let order = Self.richOrder(ref: text, description: text)
        let bytes = JSONBytes.encode(order)
        #expect(try JSONDecoder().decode(Order.self, from: Data(bytes)) == order)
        #expect(try JSONSerialization.jsonObject(with: Data(bytes)) is [String: Any])
    }

    @Test func outboxEventsAsFoundationWritesThem() throws {
        var event = OutboxEvent(id: "k-0000000002", type: "order.paid", createdAt: Timestamp(seconds: 1_800_000_050), order: Self.richOrder(ref: "CMD-8", description: "x"))
        #expect(String(decoding: JSONBytes.encode(event), as: UTF8.self) == String(decoding: try Self.foundation.encode(event), as: UTF8.self))
        var delivery = OutboxEvent.Delivery(endpoint: "https://shop.tg/hook", nextAttemptAt: Timestamp(seconds: 1_800_000_060))
        delivery.attempts = 2
        delivery.lastStatus = 503
        delivery.lastError = "Service \"Unavailable\""
        event.deliveries = [delivery, OutboxEvent.Delivery(endpoint: "https://b.tg/", nextAttemptAt: Timestamp(seconds: 1))]
        event.deliveries[1].deliveredAt = Timestamp(seconds: 2)
        #expect(String(decoding: JSONBytes.encode(event), as: UTF8.self) == String(decoding: try Self.foundation.encode(event), as: UTF8.self))
        #expect(try JSONDecoder().decode(OutboxEvent.self, from: Data(JSONBytes.encode(event))) == event)
    }

    /// An order file written by Cross 0.2 (TMoney Online's notifications, details inline) reads as the same order.
    @Test func anOrderFileOfCross02IsRead() throws {
        let legacy = #"{"amount":15000,"attempts":[{"expires_at":"2026-11-26T15:26:28Z","issued_at":"2026-11-26T15:23:28Z","session_id":"27875690759565722269644474422394"}],"brand":"Boutique","created_at":"2026-11-26T15:23:00Z","currency":"952","description":"Sac de riz","expires_at":"2026-12-03T15:23:00Z","key":"\#(OrderKey(ref: "CMD-1001").hex)","language":"fr","notifications":[{"from":"pending","notification":{"amount":15000,"clientid":"C1","cname":"Kofi Mensah","currency":"952","error":"","mobile":"22890000001","payid":"P1","paymentref":"PR1","purchaseref":"CMD-1001","status":"OK","timestamp":"1469024554"},"received_at":"2026-11-26T15:24:00Z","to":"paid"}],"payment":{"amount":15000,"clientid":"C1","cname":"Kofi Mensah","currency":"952","mobile":"22890000001","payid":"P1","paymentref":"PR1","received_at":"2026-11-26T15:24:00Z","timestamp":"1469024554"},"phone":"+22890000001","purchaseref":"CMD-1001","return_urls":{"accept":"https://shop.tg/merci"},"review_reasons":[],"revision":3,"status":"paid","updated_at":"2026-11-26T15:24:00Z"}"#
        let order = try JSONDecoder().decode(Order.self, from: Data(legacy.utf8))
        #expect(order.details == OrderDetails(description: "Sac de riz", phone: "+22890000001", acceptURL: "https://shop.tg/merci"))
        #expect(order.attempts == [Attempt(
            operator: .tmoney, method: .redirect, reference: "27875690759565722269644474422394",
            issuedAt: Timestamp(iso8601: "2026-11-26T15:23:28Z")!, expiresAt: Timestamp(iso8601: "2026-11-26T15:26:28Z")!)])
        let paid = TMoneyOnline.Notification(
            purchaseref: "CMD-1001", amount: 15000, currency: "952", status: .ok, clientid: "C1", cname: "Kofi Mensah", mobile: "22890000001",
            paymentref: "PR1", payid: "P1", timestamp: "1469024554")
        #expect(order.events.map(\.event) == [paid.event], "as TMoney Online's reader reads the notification today")
        #expect(order.payment == Payment(paid.event, receivedAt: Timestamp(iso8601: "2026-11-26T15:24:00Z")!))
        // Written again in today's shape, it reads back the same.
        #expect(try JSONDecoder().decode(Order.self, from: Data(JSONBytes.encode(order))) == order)
    }

    @Test func journalRecordsRoundTrip() throws {
        let order = Self.richOrder(ref: "CMD-9", description: nil)
        var record = JournalRecord(at: Timestamp(seconds: 1_800_000_040), kind: .eventApplied)
        record.paymentEvent = order.events.last!.event
        record.from = .pending
        record.to = .review
        record.answer = 200
        record.remote = "127.0.0.1"
        record.reason = "amount"
        record.key = order.key
        record.ref = order.ref
        record.revision = order.revision
        record.parameters = [["purchaseref", "CMD-9"], ["amount", "12"]]
        record.webhook = "order.review"
        record.channel = "notification"
        record.pid = 4321
        record.unfinished = true
        let bytes = JSONBytes.encode(record, order: JSONBytes.encode(order))
        let decoded = try JSONDecoder().decode(JournalRecord.self, from: Data(bytes))
        #expect(decoded.order == order)
        #expect(decoded.paymentEvent == record.paymentEvent)
        #expect(decoded.parameters == record.parameters)
        #expect(decoded.kind == .eventApplied && decoded.from == .pending && decoded.to == .review && decoded.answer == 200)
        #expect(decoded.webhook == "order.review" && decoded.channel == "notification" && decoded.pid == 4321 && decoded.unfinished == true)
        var withSnapshot = record
        withSnapshot.order = order
        #expect(String(decoding: JSONBytes.encode(withSnapshot, order: nil), as: UTF8.self) == String(decoding: try Self.foundation.encode(withSnapshot), as: UTF8.self))
    }
}
