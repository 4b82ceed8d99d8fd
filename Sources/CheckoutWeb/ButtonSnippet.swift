import Foundation
import Payments
import WebPages

/// The HTML a merchant pastes to sell something with a payment button (`cross button` prints it).
public struct ButtonSnippet: Sendable {
    let policy: OrderPolicy
    let settings: CheckoutSettings
    let pages: Pages

    public init(policy: OrderPolicy, settings: CheckoutSettings, pages: Pages) {
        self.policy = policy
        self.settings = settings
        self.pages = pages
    }

    /// Checks the fields as an order would be checked (a button that can only fail is refused now, not in
    /// a shopper's hands), signs them, and renders the snippet. An empty purchaseref leaves it to Cross: a
    /// new order, with a fresh reference, on every click.
    public func render(_ values: [String: String]) throws(ValidationErrors) -> String {
        var checked = values.filter { !$0.value.isEmpty }
        checked["purchaseref"] = checked["purchaseref"] ?? "BTN-CHECK"
        let order = try OrderFields(values: checked).validate(policy)
        var signed = values.filter { PaymentButton.fields.contains($0.key) && !$0.value.isEmpty }
        signed["currency"] = order.currency
        signed["language"] = order.language.rawValue
        signed["amount"] = order.amount.digits
        let signature = PaymentButton.sign(signed, secret: settings.buttonSecret)
        let hidden = PaymentButton.fields.compactMap { name in signed[name].map { ["name": name, "value": $0] } }
            + [["name": PaymentButton.signatureField, "value": signature]]
        return pages.render("button-snippet", [
            "action": settings.publicURL + "/checkout",
            "script": settings.publicURL + "/button.js",
            "fields": hidden,
            "label": pages.strings.word("pay_button", order.language),
        ])
    }
}
