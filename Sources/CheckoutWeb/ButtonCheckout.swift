import FastCGI
import Foundation
import OrderStorage
import Payments

/// `POST /checkout`: a payment button pasted on any page, even a static one on another site. Its signature
/// is checked against every field it carries; a valid button creates its order (or finds it again, as the
/// API does) and sends the shopper on to the checkout page with a 303.
///
/// The form comes from other sites by design, so there is no anti-forgery token to check: nothing here rides
/// on the shopper's cookies or session (there are none), and a forged post can only create an order the
/// merchant signed. Integrity comes from the signature, abuse is limited per client address by nginx.
extension Checkout {
    func buttonCheckout(_ request: Request) throws -> Response {
        let now = cashier.now
        guard let contentType = request.contentType, Request.mediaType(contentType) == "application/x-www-form-urlencoded" else {
            return invalidButton(request, reason: "not a form post", language: settings.defaultLanguage)
        }
        var values: [String: String]
        do {
            values = try PaymentButton.verify(request.form.pairs, secret: settings.buttonSecret, now: now)
        } catch {
            return invalidButton(request, reason: error.description, language: Language(rawValue: request.form["language"] ?? "") ?? settings.defaultLanguage)
        }
        if values["purchaseref"]?.isEmpty ?? true { values["purchaseref"] = PaymentButton.newReference(at: now) }
        let language = Language(rawValue: values["language"] ?? "") ?? settings.defaultLanguage
        let new: NewOrder
        do {
            new = try OrderFields(values: values.filter { !$0.value.isEmpty }).validate(cashier.settings.policy)
        } catch {
            return invalidButton(request, reason: "its fields are not a valid order: \(error.description)", language: language)
        }
        switch try cashier.createOrder(new) {
        case .created(let order), .existing(let order):
            logger.info("payment button used", metadata: [
                "ref": "\(order.ref)", "order": "\(order.key)", "amount": "\(order.amount)", "remote": "\(request.remoteAddress)",
            ])
            return .redirect(to: "/pay/" + link(order))
        case .conflict:
            let words = pages.strings
            return pages.message(
                language, heading: words.word("button_conflict_title", language), message: words.word("button_conflict_body", language),
                status: .conflict)
        }
    }

    /// A 400 page that says the button cannot be used; the reason goes to the log, not to the page.
    private func invalidButton(_ request: Request, reason: String, language: Language) -> Response {
        logger.warning("payment button refused", metadata: [
            "reason": "\(reason)", "remote": "\(request.remoteAddress)",
            "ref": "\(request.form["purchaseref"]?.prefix(250) ?? "")", "amount": "\(request.form["amount"]?.prefix(20) ?? "")",
            "referer": "\(request.header("referer")?.prefix(200) ?? "")",
        ])
        let words = pages.strings
        // Back to the page the button was on, when it is one of the merchant's own.
        let referer = request.header("referer").flatMap {
            try? FieldRule.returnURL($0, allowedHosts: cashier.settings.policy.allowedReturnHosts, field: "referer")
        }
        return pages.message(
            language, heading: words.word("button_invalid_title", language), message: words.word("button_invalid_body", language),
            shopURL: referer, status: .badRequest)
    }
}
