import Foundation
import Payments

/// An order as merchants' back ends see it: the order API's answers and the webhook events' `order`.
public struct APIOrder: Encodable, Sendable {
    let order: Order
    let checkoutURL: String

    public init(_ order: Order, checkoutURL: String) {
        self.order = order
        self.checkoutURL = checkoutURL
    }

    struct APIPayment: Encodable {
        let `operator`: String
        let paymentref: String
        let payid: String
        let amount: Int64
        let currency: String
        let mobile: String
        let cname: String
        let clientid: String
        let received_at: String
    }

    public func encode(to encoder: any Encoder) throws {
        var json = encoder.container(keyedBy: NamedKey.self)
        try json.encode(order.ref, forKey: NamedKey("purchaseref"))
        try json.encode(order.amount.francs, forKey: NamedKey("amount"))
        try json.encode(order.currency, forKey: NamedKey("currency"))
        try json.encode(order.status.rawValue, forKey: NamedKey("status"))
        try json.encode(order.brand, forKey: NamedKey("brand"))
        try json.encode(order.language.rawValue, forKey: NamedKey("language"))
        // Every optional field the merchant gave, by the name it was given under.
        for (name, value) in order.details.values { try json.encode(value, forKey: NamedKey(name)) }
        // As Cross 0.2 answered them.
        try json.encode(order.details.returnURLs, forKey: NamedKey("return_urls"))
        try json.encode(checkoutURL, forKey: NamedKey("checkout_url"))
        try json.encode(order.createdAt.iso8601, forKey: NamedKey("created_at"))
        try json.encode(order.updatedAt.iso8601, forKey: NamedKey("updated_at"))
        try json.encode(order.expiresAt.iso8601, forKey: NamedKey("expires_at"))
        try json.encode(order.attempts.count, forKey: NamedKey("attempts"))
        // The operator the order was paid with, else the one of its latest attempt (null before any); and each
        // attempt with its operator and way of paying.
        try json.encode(order.operator?.rawValue, forKey: NamedKey("operator"))
        try json.encode(order.attempts.map(APIAttempt.init), forKey: NamedKey("payment_attempts"))
        // The operators' words on the order, however they came.
        try json.encode(order.events.count, forKey: NamedKey("notifications"))
        if let payment = order.payment {
            try json.encode(APIPayment(
                operator: payment.operator.rawValue, paymentref: payment.receipt, payid: payment.transactionID, amount: payment.amount,
                currency: payment.currency, mobile: payment.payer.phone, cname: payment.payer.name, clientid: payment.payer.account,
                received_at: payment.receivedAt.iso8601), forKey: NamedKey("payment"))
        }
        try json.encode(order.reviewReasons, forKey: NamedKey("review_reasons"))
        if !order.refunds.isEmpty {
            try json.encode(order.refunds.map { APIRefund($0, of: order) }, forKey: NamedKey("refunds"))
            try json.encode(order.refundedAmount, forKey: NamedKey("refunded_amount"))
        }
    }

    struct APIAttempt: Encodable {
        let attempt: Attempt

        func encode(to encoder: any Encoder) throws {
            var json = encoder.container(keyedBy: NamedKey.self)
            try json.encode(attempt.operator.rawValue, forKey: NamedKey("operator"))
            try json.encode(attempt.method.rawValue, forKey: NamedKey("method"))
            try json.encode(attempt.issuedAt.iso8601, forKey: NamedKey("issued_at"))
            try json.encode(attempt.expiresAt.iso8601, forKey: NamedKey("expires_at"))
            if let phone = attempt.phone { try json.encode(phone.international, forKey: NamedKey("phone")) }
        }
    }

    /// The JSON of `value`: keys sorted, slashes as they are.
    public static func json<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers and arrays always encode.
        return Array(try! encoder.encode(value))
    }
}
