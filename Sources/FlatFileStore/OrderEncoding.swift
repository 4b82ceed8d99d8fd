import Foundation
import OrderStorage
import Payments
import Support

/// Orders and journal records as JSON bytes, written directly. Every notification writes an order and a
/// journal record, and Foundation's `JSONEncoder` took more time than the rest of the request together; this
/// writer produces the same JSON (keys sorted, optional fields left out when empty), which `JSONDecoder`
/// reads back into the same values — the tests hold it to both.
struct JSONBytes {
    private(set) var bytes: [UInt8] = []
    private var needsComma = false

    init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    mutating func object(_ body: (inout JSONBytes) -> Void) {
        comma()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func array<Element>(_ elements: [Element], _ body: (inout JSONBytes, Element) -> Void) {
        comma()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
        for element in elements { body(&self, element) }
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// `"name":`, then the value the caller writes.
    mutating func key(_ name: StaticString) {
        comma()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma = false
    }

    /// `"name":` for a name known only at run time (it must need no escaping).
    mutating func name(_ name: String) {
        comma()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: name.utf8)
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma = false
    }

    mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    mutating func field(_ name: StaticString, _ value: String?) {
        if let value { field(name, value) }
    }

    mutating func field(_ name: StaticString, _ value: Int64) {
        key(name)
        number(value)
    }

    mutating func field(_ name: StaticString, _ value: Int?) {
        if let value { key(name); number(Int64(value)) }
    }

    mutating func number(_ value: Int64) {
        comma()
        bytes.append(contentsOf: String(value).utf8)
        needsComma = true
    }

    mutating func string(_ value: String) {
        comma()
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [92, UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [92, 92])
            case 0x0A: bytes.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0x08: bytes.append(contentsOf: [92, UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [92, UInt8(ascii: "f")])
            case 0..<0x20:
                bytes.append(contentsOf: [92, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                Hex.append(byte, to: &bytes)
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// Bytes that already are a JSON value.
    mutating func raw(_ json: [UInt8]) {
        comma()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    private mutating func comma() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }
}

extension JSONBytes {
    static func encode(_ order: Order) -> [UInt8] {
        var json = JSONBytes(capacity: 768 + order.events.count * 400)
        json.write(order)
        return json.bytes
    }

    /// A journal record; `order`, when given, is the order's JSON as `encode(_:)` made it.
    static func encode(_ record: JournalRecord, order: [UInt8]?) -> [UInt8] {
        var json = JSONBytes(capacity: 256 + (order?.count ?? 0))
        json.object { json in
            json.field("answer", record.answer)
            json.field("at", record.at.iso8601)
            json.field("channel", record.channel)
            json.field("from", record.from?.rawValue)
            json.field("key", record.key?.hex)
            json.field("kind", record.kind.rawValue)
            if let order {
                json.key("order")
                json.raw(order)
            } else if let snapshot = record.order {
                json.key("order")
                json.write(snapshot)
            }
            if let parameters = record.parameters {
                json.key("parameters")
                json.array(parameters) { json, pair in json.array(pair) { json, text in json.string(text) } }
            }
            if let event = record.paymentEvent {
                json.key("payment_event")
                json.write(event)
            }
            json.field("pid", record.pid.map(Int.init))
            json.field("reason", record.reason)
            json.field("ref", record.ref)
            json.field("remote", record.remote)
            json.field("revision", record.revision)
            json.field("to", record.to?.rawValue)
            if let unfinished = record.unfinished {
                json.key("unfinished")
                json.raw(Array((unfinished ? "true" : "false").utf8))
            }
            json.field("webhook", record.webhook)
        }
        return json.bytes
    }

    static func encode(_ event: OutboxEvent) -> [UInt8] {
        var json = JSONBytes(capacity: 1024 + (event.order?.events.count ?? 0) * 400)
        json.object { json in
            json.field("created_at", event.createdAt.iso8601)
            json.key("deliveries")
            json.array(event.deliveries) { json, delivery in
                json.object { json in
                    json.field("attempts", Int64(delivery.attempts))
                    json.field("delivered_at", delivery.deliveredAt?.iso8601)
                    json.field("endpoint", delivery.endpoint)
                    json.field("last_error", delivery.lastError)
                    json.field("last_status", delivery.lastStatus)
                    json.field("next_attempt_at", delivery.nextAttemptAt.iso8601)
                }
            }
            json.field("id", event.id)
            if let order = event.order {
                json.key("order")
                json.write(order)
            }
            if let payout = event.payout {
                json.key("payout")
                json.raw(JSONBytes.encoded(payout))
            }
            json.field("type", event.type)
        }
        return json.bytes
    }

    /// A value that is rarely written (a payout) through Foundation's encoder, keys sorted as everywhere here.
    static func encoded<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(value)) ?? Data("null".utf8))
    }

    mutating func write(_ order: Order) {
        object { json in
            json.field("amount", order.amount.francs)
            json.key("attempts")
            json.array(order.attempts) { json, attempt in
                json.object { json in
                    json.field("expires_at", attempt.expiresAt.iso8601)
                    json.field("issued_at", attempt.issuedAt.iso8601)
                    if let check = attempt.lastCheck {
                        json.key("last_check")
                        json.write(check)
                    }
                    json.field("method", attempt.method.rawValue)
                    json.field("operator", attempt.operator.rawValue)
                    json.field("phone", attempt.phone?.international)
                    json.field("reference", attempt.reference)
                }
            }
            json.field("brand", order.brand)
            json.field("created_at", order.createdAt.iso8601)
            json.field("currency", order.currency)
            json.key("details")
            json.object { json in
                // Names sort as the list does, as an encoder with sorted keys writes them.
                for (name, value) in order.details.values {
                    json.name(name)
                    json.string(value)
                }
            }
            json.key("events")
            json.array(order.events) { json, record in
                json.object { json in
                    json.key("event")
                    json.write(record.event)
                    json.field("from", record.from.rawValue)
                    json.field("note", record.note)
                    json.field("received_at", record.receivedAt.iso8601)
                    json.field("source", record.source.rawValue)
                    json.field("to", record.to.rawValue)
                }
            }
            json.field("expires_at", order.expiresAt.iso8601)
            json.field("key", order.key.hex)
            json.field("language", order.language.rawValue)
            if let payment = order.payment {
                json.key("payment")
                json.object { json in
                    json.field("amount", payment.amount)
                    json.field("currency", payment.currency)
                    json.field("occurred_at", payment.occurredAt)
                    json.field("operator", payment.operator.rawValue)
                    json.key("payer")
                    json.write(payment.payer)
                    json.field("receipt", payment.receipt)
                    json.field("received_at", payment.receivedAt.iso8601)
                    json.field("transaction_id", payment.transactionID)
                }
            }
            json.field("purchaseref", order.ref)
            if !order.refunds.isEmpty {
                json.key("refunds")
                json.array(order.refunds) { json, refund in
                    json.object { json in
                        json.field("amount", refund.amount)
                        json.field("created_at", refund.createdAt.iso8601)
                        json.field("credit_reference", refund.creditReference)
                        json.field("failure", refund.failure)
                        json.field("id", refund.id)
                        json.field("idempotency_key", refund.idempotencyKey)
                        if let check = refund.lastCheck {
                            json.key("last_check")
                            json.write(check)
                        }
                        json.field("operator", refund.operator.rawValue)
                        json.field("operator_reference", refund.operatorReference)
                        json.field("phone", refund.phone.international)
                        json.field("reason", refund.reason)
                        json.field("sends", refund.sends)
                        json.field("status", refund.status.rawValue)
                        json.field("updated_at", refund.updatedAt.iso8601)
                    }
                }
            }
            json.key("review_reasons")
            json.array(order.reviewReasons) { json, reason in json.string(reason) }
            json.field("revision", order.revision)
            json.field("status", order.status.rawValue)
            json.field("updated_at", order.updatedAt.iso8601)
        }
    }

    mutating func write(_ event: PaymentEvent) {
        object { json in
            json.field("amount", event.amount)
            if !event.attempt.isEmpty { json.field("attempt", event.attempt) }
            json.field("currency", event.currency)
            json.field("occurred_at", event.occurredAt)
            json.field("operator", event.operator.rawValue)
            json.field("outcome", event.outcome.rawValue)
            json.key("payer")
            json.write(event.payer)
            json.field("purchaseref", event.purchaseref)
            json.field("reason", event.reason)
            json.field("receipt", event.receipt)
            json.field("transaction_id", event.transactionID)
        }
    }

    mutating func write(_ check: AttemptCheck) {
        object { json in
            json.field("at", check.at.iso8601)
            json.field("count", check.count)
            json.field("result", check.result)
        }
    }

    mutating func write(_ payer: Payer) {
        object { json in
            json.field("account", payer.account)
            json.field("name", payer.name)
            json.field("phone", payer.phone)
        }
    }
}
