import Foundation
import Payments

/// The HTML a merchant pastes to sell something with a TMoney payment button (`cross button` prints it).
public struct ButtonSnippet: Sendable {
    public let configuration: Configuration
    public let pages: Pages

    public init(configuration: Configuration, pages: Pages) {
        self.configuration = configuration
        self.pages = pages
    }

    /// Checks the fields as an order would be checked (a button that can only fail is refused now, not in
    /// a shopper's hands), signs them, and renders the snippet. An empty purchaseref leaves it to Cross: a
    /// new order, with a fresh reference, on every click.
    public func render(_ values: [String: String]) throws(ValidationErrors) -> String {
        let fields = OrderFields(
            purchaseref: values["purchaseref"].flatMap { $0.isEmpty ? nil : $0 } ?? "BTN-CHECK", amount: values["amount"],
            currency: values["currency"], description: values["description"], phone: values["phone"],
            language: values["language"], text: values["text"], acceptURL: values["accept_url"],
            declineURL: values["decline_url"], cancelURL: values["cancel_url"])
        let order = try fields.validate(configuration.orderPolicy)
        var signed = values.filter { PaymentButton.fields.contains($0.key) && !$0.value.isEmpty }
        signed["currency"] = order.currency
        signed["language"] = order.language.rawValue
        signed["amount"] = order.amount.digits
        let signature = PaymentButton.sign(signed, secret: configuration.buttonSecret)
        let hidden = PaymentButton.fields.compactMap { name in signed[name].map { ["name": name, "value": $0] } }
            + [["name": PaymentButton.signatureField, "value": signature]]
        return pages.render("button-snippet", [
            "action": configuration.publicURL + "/checkout",
            "script": configuration.publicURL + "/button.js",
            "fields": hidden,
            "label": pages.strings.word("pay_button", order.language),
        ])
    }
}
