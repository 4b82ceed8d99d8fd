import FastCGI
import Payments
import WebPages
import Support

/// TMoney's pages for the shopper, in the order's language: each step of the journey, and the way back to
/// the merchant. Every value goes through the templates' escaping.
enum PaymentViews {
    static func response(for step: PaymentStep, _ pages: SandboxPages) -> Response {
        switch step {
        case .credentials(let transaction, let notice):
            let order = transaction.order
            var context = summary(transaction)
            context["phone"] = order.phone ?? ""
            context["phoneLocked"] = order.phone != nil
            if let notice { context["notice"] = text(notice, order.language, pages.strings) }
            return pages.page("payment", order.language, title: title(transaction, pages), context)
        case .code(let transaction, let notice):
            var context = summary(transaction)
            // Where the code went, never the code: the shopper reads it on their phone (here, the outbox).
            context["phone"] = transaction.authenticatedPhone ?? ""
            if let notice { context["notice"] = text(notice, transaction.order.language, pages.strings) }
            return pages.page("code", transaction.order.language, title: title(transaction, pages), context)
        case .confirmation(let transaction):
            var context = summary(transaction)
            context["paymentref"] = transaction.outcome?.paymentref ?? ""
            return pages.page("confirmation", transaction.order.language, title: title(transaction, pages), context)
        case .backToMerchant(let transaction):
            guard let outcome = transaction.outcome else { preconditionFailure("back to the merchant before the payment ended") }
            if let url = transaction.returnURL(for: outcome.kind) {
                var response = Response.redirect(to: url)
                response.headers.append(("Cache-Control", "no-store"))
                return response
            }
            // Neither the form nor the merchant's settings name a page for this outcome: say how it ended.
            var context = summary(transaction)
            context["message"] = pages.strings.word("ended_" + outcome.kind.rawValue, transaction.order.language)
            return pages.page("ended", transaction.order.language, title: title(transaction, pages), context)
        }
    }

    /// What every step shows of the order: the merchant's brand and text at the top, then the purchase.
    /// Only values that exist go in a context: Mustache shows "nil" for an absent one.
    private static func summary(_ transaction: Transaction) -> [String: Any] {
        let order = transaction.order
        var context: [String: Any] = [
            "key": transaction.id, "brand": order.brand, "amount": order.amount.formatted, "ref": order.purchaseref,
        ]
        if let text = order.text { context["text"] = text }
        if let description = order.description { context["description"] = description }
        return context
    }

    private static func title(_ transaction: Transaction, _ pages: SandboxPages) -> String {
        pages.strings.word("payment_title", transaction.order.language) + " · " + transaction.order.brand
    }

    private static func text(_ notice: PaymentStep.Notice, _ language: Language, _ words: StringTable) -> String {
        switch notice {
        case .missingCredentials: words.word("missing_credentials", language)
        case .wrongCredentials(let left):
            words.word(left == 1 ? "wrong_credentials_last" : "wrong_credentials", language, ["count": String(left)])
        case .missingCode: words.word("missing_code", language)
        }
    }
}
