import Crypto
import Foundation
import MerchantAPI
import OrderStorage
import Payments
import Support

/// What a merchant's endpoint receives for one outbox event, and how it can tell the event came from Cross:
///
///     POST <endpoint>
///     Content-Type: application/json
///     Cross-Event-Id: <event id>
///     Cross-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
///
///     {"created_at": "…", "id": "<event id>", "order": <the order as the API shows it>, "type": "order.paid"}
public enum WebhookMessage {
    struct Payload: Encodable {
        let id: String
        let type: String
        let created_at: String
        let order: APIOrder?
        /// `refund.…` events: the refund that ended.
        let refund: APIRefund?
        /// `payout.…` events.
        let payout: APIPayout?

        func encode(to encoder: any Encoder) throws {
            var json = encoder.container(keyedBy: NamedKey.self)
            try json.encode(id, forKey: NamedKey("id"))
            try json.encode(type, forKey: NamedKey("type"))
            try json.encode(created_at, forKey: NamedKey("created_at"))
            if let order { try json.encode(order, forKey: NamedKey("order")) }
            if let refund { try json.encode(refund, forKey: NamedKey("refund")) }
            if let payout { try json.encode(payout, forKey: NamedKey("payout")) }
        }
    }

    /// The JSON body: the same bytes for every endpoint and every attempt of the event.
    static func body(_ event: OutboxEvent, links: OrderLink) -> [UInt8] {
        var refund: APIRefund?
        if let order = event.order, event.type.hasPrefix("refund.") {
            // The refund that reached the event's status last, as the order then was.
            let status = String(event.type.dropFirst("refund.".count))
            refund = order.refunds.filter { $0.status.rawValue == status }.max { $0.updatedAt < $1.updatedAt }.map { APIRefund($0, of: order) }
        }
        return APIOrder.json(Payload(
            id: event.id, type: event.type, created_at: event.createdAt.iso8601,
            order: event.order.map { APIOrder($0, checkoutURL: links.checkoutURL(for: $0.key)) }, refund: refund, payout: event.payout.map(APIPayout.init)))
    }

    /// `t=<time>,v1=<hex HMAC-SHA256 of "<time>.<body>" keyed with the endpoint's secret>`.
    public static func signature(secret: String, time: Int64, body: [UInt8]) -> String {
        "t=\(time),v1=" + mac(secret: secret, time: time, body: body)
    }

    static func mac(secret: String, time: Int64, body: [UInt8]) -> String {
        let key = SymmetricKey(data: Data(secret.utf8))
        var message = Array("\(time).".utf8)
        message.append(contentsOf: body)
        return Hex.encode(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// The merchant's side of the signature, as docs/webhooks.md tells it: recompute, compare in constant time,
    /// and refuse a time more than `tolerance` seconds away from now (a replayed old event).
    public static func verify(header: String, body: [UInt8], secret: String, now: Int64, tolerance: Int64 = 300) -> Bool {
        var time: Int64?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { time = Int64(pair[1]) }
            if pair[0] == "v1" { signatures.append(pair[1]) }
        }
        guard let time, abs(now - time) <= tolerance else { return false }
        let expected = mac(secret: secret, time: time, body: body)
        var matched = false
        for signature in signatures where ConstantTime.equal(expected, signature) { matched = true }
        return matched
    }

    /// Seconds to wait after the `attempts`-th failed attempt: `min(base × 2^(attempts-1), 3600) × jitter`,
    /// jitter being drawn in [0.5, 1.5) so that many events failing together do not retry together.
    public static func retryDelay(attempts: Int, baseSeconds: Double, jitter: Double) -> Double {
        let exponent = Double(min(max(attempts - 1, 0), 40))
        return min(baseSeconds * pow(2, exponent), 3600) * jitter
    }
}
