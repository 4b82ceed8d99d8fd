import Cashier
import FastCGI
import Foundation
import OrderStorage
import Payments

/// `POST /checkout`: a payment button pasted on any page, even a static one on another site. Its signature
/// is checked against every field it carries. A button with its own reference creates its order (or finds it
/// again, as the API does) and sends the shopper on to the checkout page with a 303. A button without one
/// (an item sold many times) writes nothing: it sends the shopper to an offer (`/pay/button/{sealed offer}`)
/// whose pay button makes the order, at most `button_orders_per_minute` a minute in all, so that posting a
/// button in a loop costs nothing on disk.
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
        let language = Language(rawValue: values["language"] ?? "") ?? settings.defaultLanguage
        let offered = values["purchaseref"]?.isEmpty ?? true
        if offered { values["purchaseref"] = PaymentButton.newReference(at: now) }
        let new: NewOrder
        do {
            new = try OrderFields(values: values.filter { !$0.value.isEmpty }).validate(cashier.settings.policy)
        } catch {
            return invalidButton(request, reason: "its fields are not a valid order: \(error.description)", language: language)
        }
        if offered {
            let reference = values.removeValue(forKey: "purchaseref")!
            let offer = PaymentButton.Offer(values: values.filter { !$0.value.isEmpty }, reference: reference)
            logger.info("payment button used: offer", metadata: ["ref": "\(reference)", "amount": "\(new.amount)", "remote": "\(request.remoteAddress)"])
            return .redirect(to: "/pay/button/" + offer.seal(secret: settings.buttonSecret))
        }
        return try created(try cashier.createOrder(new), request: request, language: language)
    }

    /// `GET /pay/button/{offer}`: what the button sells and a pay button; nothing is written.
    func offerPage(_ request: Request) throws -> Response {
        let (offer, new) = try offer(request)
        let words = pages.strings
        let order = Order(new, createdAt: cashier.now, lifetimeSeconds: 0)
        return pages.page("button-offer", new.language, title: words.word("checkout_title", new.language) + " · " + new.brand, [
            "order": Self.summary(order), "action": "/pay/button/" + (request.routeParameters["offer"] ?? ""),
            "reference": offer.reference,
        ])
    }

    /// `POST /pay/button/{offer}`: the order is made (the same offer always makes the same one), then the checkout
    /// page, which goes on to the operator by itself.
    func acceptOffer(_ request: Request) throws -> Response {
        let (_, new) = try offer(request)
        do {
            return try created(try cashier.createButtonOrder(new), request: request, language: new.language, then: "?go=1")
        } catch is Cashier.TooManyButtonOrders {
            let words = pages.strings
            var page = pages.message(
                new.language, heading: words.word("busy_title", new.language), message: words.word("button_busy_body", new.language),
                status: .tooManyRequests)
            page.headers.append(("Retry-After", "60"))
            return page
        }
    }

    private func offer(_ request: Request) throws -> (PaymentButton.Offer, NewOrder) {
        let language = settings.defaultLanguage
        let words = pages.strings
        let gone = HTTPError(page: pages.message(
            language, heading: words.word("button_invalid_title", language), message: words.word("button_invalid_body", language),
            status: .notFound), message: "no such offer")
        guard let token = request.routeParameters["offer"], let offer = PaymentButton.Offer.open(token, secret: settings.buttonSecret, now: cashier.now) else {
            throw gone
        }
        var values = offer.values
        values["purchaseref"] = offer.reference
        guard let new = try? OrderFields(values: values).validate(cashier.settings.policy) else { throw gone }
        return (offer, new)
    }

    private func created(_ outcome: CreateOutcome, request: Request, language: Language, then query: String = "") throws -> Response {
        switch outcome {
        case .created(let order), .existing(let order):
            logger.info("payment button used", metadata: [
                "ref": "\(order.ref)", "order": "\(order.key)", "amount": "\(order.amount)", "remote": "\(request.remoteAddress)",
            ])
            return .redirect(to: "/pay/" + link(order) + query)
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
