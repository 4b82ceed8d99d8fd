import Foundation
import Payments

/// How an order appears to shoppers (page contexts) and to merchant back ends (JSON).
enum OrderViews {
    /// The fields the shopper's pages show; every value is escaped by the template.
    static func summary(_ order: Order) -> [String: Any] {
        var summary: [String: Any] = [
            "ref": order.ref, "brand": order.brand, "amount": order.amount.formatted, "status": order.status.rawValue,
        ]
        if let description = order.description, !description.isEmpty { summary["description"] = description }
        if let payment = order.payment, order.status == .paid || order.status == .review {
            summary["paymentref"] = payment.paymentref
        }
        return summary
    }

    /// What the merchant's API returns for an order.
    struct APIOrder: Encodable {
        let purchaseref: String
        let amount: Int64
        let currency: String
        let status: String
        let description: String?
        let brand: String
        let phone: String?
        let language: String
        let text: String?
        let return_urls: ReturnURLs
        let checkout_url: String
        let created_at: String
        let updated_at: String
        let expires_at: String
        let attempts: Int
        let notifications: Int
        let payment: APIPayment?
        let review_reasons: [String]
    }

    struct APIPayment: Encodable {
        let paymentref: String
        let payid: String
        let amount: Int64
        let currency: String
        let mobile: String
        let cname: String
        let clientid: String
        let received_at: String
    }

    static func api(_ order: Order, checkoutURL: String) -> APIOrder {
        APIOrder(
            purchaseref: order.ref, amount: order.amount.francs, currency: order.currency, status: order.status.rawValue,
            description: order.description, brand: order.brand, phone: order.phone, language: order.language.rawValue,
            text: order.text, return_urls: order.returnURLs, checkout_url: checkoutURL, created_at: order.createdAt.iso8601,
            updated_at: order.updatedAt.iso8601, expires_at: order.expiresAt.iso8601, attempts: order.attempts.count,
            notifications: order.notifications.count,
            payment: order.payment.map {
                APIPayment(
                    paymentref: $0.paymentref, payid: $0.payid, amount: $0.amount, currency: $0.currency, mobile: $0.mobile,
                    cname: $0.cname, clientid: $0.clientid, received_at: $0.receivedAt.iso8601)
            },
            review_reasons: order.reviewReasons)
    }

    /// Why an attempt failed, in the shopper's words: from the last notification's error code.
    static func failureMessage(_ order: Order, _ strings: Strings) -> String {
        let language = order.language
        switch order.status {
        case .cancelled: return strings.word("cancelled_body", language)
        case .expired: return strings.word("expired_session_body", language)
        case .declined:
            switch order.notifications.last?.notification.error {
            case "AUTHENTICATION": return strings.word("declined_authentication_body", language)
            case "PAYMENT_FAILED": return strings.word("declined_payment_failed_body", language)
            default: return strings.word("declined_other_body", language)
            }
        default: return strings.word("not_completed_body", language)
        }
    }
}
