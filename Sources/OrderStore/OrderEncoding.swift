import Payments

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
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [92, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
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
        var json = JSONBytes(capacity: 768 + order.notifications.count * 400)
        json.write(order)
        return json.bytes
    }

    /// A journal record; `order`, when given, is the order's JSON as `encode(_:)` made it.
    static func encode(_ record: JournalRecord, order: [UInt8]?) -> [UInt8] {
        var json = JSONBytes(capacity: 256 + (order?.count ?? 0))
        json.object { json in
            json.field("answer", record.answer)
            json.field("at", record.at.iso8601)
            json.field("event", record.event)
            json.field("from", record.from?.rawValue)
            json.field("key", record.key?.hex)
            json.field("kind", record.kind.rawValue)
            if let notification = record.notification {
                json.key("notification")
                json.write(notification)
            }
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
        }
        return json.bytes
    }

    static func encode(_ event: OutboxEvent) -> [UInt8] {
        var json = JSONBytes(capacity: 1024 + event.order.notifications.count * 400)
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
            json.key("order")
            json.write(event.order)
            json.field("type", event.type)
        }
        return json.bytes
    }

    mutating func write(_ order: Order) {
        object { json in
            json.field("amount", order.amount.francs)
            json.key("attempts")
            json.array(order.attempts) { json, attempt in
                json.object { json in
                    json.field("expires_at", attempt.expiresAt.iso8601)
                    json.field("issued_at", attempt.issuedAt.iso8601)
                    json.field("session_id", attempt.sessionID.value)
                }
            }
            json.field("brand", order.brand)
            json.field("created_at", order.createdAt.iso8601)
            json.field("currency", order.currency)
            json.field("description", order.description)
            json.field("expires_at", order.expiresAt.iso8601)
            json.field("key", order.key.hex)
            json.field("language", order.language.rawValue)
            json.key("notifications")
            json.array(order.notifications) { json, record in
                json.object { json in
                    json.field("from", record.from.rawValue)
                    json.field("note", record.note)
                    json.key("notification")
                    json.write(record.notification)
                    json.field("received_at", record.receivedAt.iso8601)
                    json.field("to", record.to.rawValue)
                }
            }
            if let payment = order.payment {
                json.key("payment")
                json.object { json in
                    json.field("amount", payment.amount)
                    json.field("clientid", payment.clientid)
                    json.field("cname", payment.cname)
                    json.field("currency", payment.currency)
                    json.field("mobile", payment.mobile)
                    json.field("payid", payment.payid)
                    json.field("paymentref", payment.paymentref)
                    json.field("received_at", payment.receivedAt.iso8601)
                    json.field("timestamp", payment.timestamp)
                }
            }
            json.field("phone", order.phone)
            json.field("purchaseref", order.ref)
            json.key("return_urls")
            json.object { json in
                json.field("accept", order.returnURLs.accept)
                json.field("cancel", order.returnURLs.cancel)
                json.field("decline", order.returnURLs.decline)
            }
            json.key("review_reasons")
            json.array(order.reviewReasons) { json, reason in json.string(reason) }
            json.field("revision", order.revision)
            json.field("status", order.status.rawValue)
            json.field("text", order.text)
            json.field("updated_at", order.updatedAt.iso8601)
        }
    }

    mutating func write(_ notification: Payments.Notification) {
        object { json in
            json.field("amount", notification.amount)
            json.field("clientid", notification.clientid)
            json.field("cname", notification.cname)
            json.field("currency", notification.currency)
            json.field("error", notification.error)
            json.field("mobile", notification.mobile)
            json.field("payid", notification.payid)
            json.field("paymentref", notification.paymentref)
            json.field("purchaseref", notification.purchaseref)
            json.field("status", notification.status.rawValue)
            json.field("timestamp", notification.timestamp)
        }
    }
}
