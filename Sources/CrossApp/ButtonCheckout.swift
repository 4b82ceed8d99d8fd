import FastCGI
import Foundation
import OrderStore
import Payments

/// `POST /checkout`: a payment button pasted on any page, even a static one on another site. Its signature
/// is checked against every field it carries; a valid button creates its order (or finds it again, as the
/// API does) and sends the shopper on to the checkout page with a 303.
///
/// The form comes from other sites by design, so there is no anti-forgery token to check: nothing here rides
/// on the shopper's cookies or session (there are none), and a forged post can only create an order the
/// merchant signed. Integrity comes from the signature, abuse is limited per client address by nginx.
extension Application {
    func buttonCheckout(_ request: Request) throws -> Response {
        let now = Timestamp.now()
        guard let contentType = request.contentType, Request.mediaType(contentType) == "application/x-www-form-urlencoded" else {
            return invalidButton(request, reason: "not a form post", language: configuration.defaultLanguage)
        }
        let values: [String: String]
        do {
            values = try PaymentButton.verify(request.form.pairs, secret: configuration.buttonSecret, now: now)
        } catch {
            return invalidButton(request, reason: error.description, language: Language(rawValue: request.form["language"] ?? "") ?? configuration.defaultLanguage)
        }
        func value(_ name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }
        let fields = OrderFields(
            purchaseref: value("purchaseref") ?? PaymentButton.newReference(at: now), amount: value("amount"),
            currency: value("currency"), description: value("description"), phone: value("phone"),
            language: value("language"), text: value("text"), acceptURL: value("accept_url"),
            declineURL: value("decline_url"), cancelURL: value("cancel_url"))
        let language = Language(rawValue: value("language") ?? "") ?? configuration.defaultLanguage
        let new: NewOrder
        do {
            new = try fields.validate(configuration.orderPolicy)
        } catch {
            return invalidButton(request, reason: "its fields are not a valid order: \(error.description)", language: language)
        }
        let outcome = try storeCall {
            try store.create(new, at: now, lifetimeSeconds: configuration.orderExpirySeconds)
        }
        switch outcome {
        case .created(let order), .existing(let order):
            logger.info("payment button used", metadata: [
                "ref": "\(order.ref)", "order": "\(order.key)", "amount": "\(order.amount)", "remote": "\(request.remoteAddress)",
            ])
            return .redirect(to: "/pay/" + publicLink(order))
        case .conflict(let order):
            logger.warning("payment button conflicts with an existing order", metadata: ["ref": "\(order.ref)", "remote": "\(request.remoteAddress)"])
            let words = pages.strings
            return pages.page("message", language, title: words.word("button_conflict_title", language), [
                "heading": words.word("button_conflict_title", language), "message": words.word("button_conflict_body", language),
            ], status: .conflict)
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
        var context: [String: Any] = [
            "heading": words.word("button_invalid_title", language), "message": words.word("button_invalid_body", language),
        ]
        // Back to the page the button was on, when it is one of the merchant's own.
        if let referer = request.header("referer"), (try? Field.returnURL(referer, allowedHosts: configuration.allowedReturnHosts, field: "referer")) != nil {
            context["shopURL"] = referer
        }
        return pages.page("message", language, title: words.word("button_invalid_title", language), context, status: .badRequest)
    }
}
