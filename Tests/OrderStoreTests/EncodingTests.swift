import Foundation
import Testing
@testable import OrderStore
@testable import Payments

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
                ref: ref, amount: Amount(francs: 1_234_567)!, currency: "952", description: description, brand: "Chez \"Ama\" & Fils",
                phone: "+22890000001", language: .en, text: "Merci / thanks", returnURLs: ReturnURLs(accept: "https://shop.tg/a?b=1&c=2", cancel: "https://shop.tg/c")),
            createdAt: Timestamp(seconds: 1_800_000_000), lifetimeSeconds: 600)
        try! OrderLifecycle.startAttempt(&order, sessionID: SessionID("27875690759565722269644474422394")!, at: Timestamp(seconds: 1_800_000_010), sessionLifetime: 180)
        _ = OrderLifecycle.apply(Notification(purchaseref: ref, amount: 1_234_567, currency: "952", status: .nok, error: "CANCEL"), to: &order, at: Timestamp(seconds: 1_800_000_020))
        _ = OrderLifecycle.apply(Notification(purchaseref: ref, amount: 12, currency: "952", status: .ok, clientid: "C\u{1}", cname: "Kofi Mensah\tJr", mobile: "22890000001", paymentref: "PR\\1", payid: "P\"1", timestamp: "1800000030"), to: &order, at: Timestamp(seconds: 1_800_000_030))
        return order
    }

    @Test func sameBytesAsFoundationForOrdinaryOrders() throws {
        for order in [Self.richOrder(ref: "CMD-1001", description: "Sac de riz"), Order(
            NewOrder(ref: "min", amount: Amount(francs: 100)!, currency: "952", description: nil, brand: "B", phone: nil, language: .fr, text: nil, returnURLs: ReturnURLs()),
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

    @Test func journalRecordsRoundTrip() throws {
        let order = Self.richOrder(ref: "CMD-9", description: nil)
        var record = JournalRecord(at: Timestamp(seconds: 1_800_000_040), kind: .notificationApplied)
        record.notification = order.notifications.last!.notification
        record.from = .pending
        record.to = .review
        record.answer = 200
        record.remote = "127.0.0.1"
        record.reason = "amount"
        record.key = order.key
        record.ref = order.ref
        record.revision = order.revision
        record.parameters = [["purchaseref", "CMD-9"], ["amount", "12"]]
        record.event = "order.review"
        record.pid = 4321
        record.unfinished = true
        let bytes = JSONBytes.encode(record, order: JSONBytes.encode(order))
        let decoded = try JSONDecoder().decode(JournalRecord.self, from: Data(bytes))
        #expect(decoded.order == order)
        #expect(decoded.notification == record.notification)
        #expect(decoded.parameters == record.parameters)
        #expect(decoded.kind == .notificationApplied && decoded.from == .pending && decoded.to == .review && decoded.answer == 200)
        #expect(decoded.event == "order.review" && decoded.pid == 4321 && decoded.unfinished == true)
        var withSnapshot = record
        withSnapshot.order = order
        #expect(String(decoding: JSONBytes.encode(withSnapshot, order: nil), as: UTF8.self) == String(decoding: try Self.foundation.encode(withSnapshot), as: UTF8.self))
    }
}
