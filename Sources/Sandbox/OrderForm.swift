import FastCGI
import Payments

/// What a merchant's order form asked TMoney for, once every field passed the spec's rules.
public struct PaymentOrder: Sendable, Equatable, Codable {
    public let purchaseref: String
    public let amount: Amount
    public let currency: String
    /// As the merchant sent it: when set, the shopper cannot pay from another number.
    public let phone: String?
    /// Shown at the top of the payment page.
    public let brand: String
    public let description: String?
    /// Shown at the top of the payment page, under the brand.
    public let text: String?
    public let language: Language
    public let returnURLs: ReturnURLs

    enum CodingKeys: String, CodingKey {
        case purchaseref, amount, currency, phone, brand, description, text, language
        case returnURLs = "return_urls"
    }
}

/// The order form a shopper's browser posts to `online.php`, read and checked field by field (the spec's
/// table). Every field at fault is reported at once, named as the merchant sent it.
public struct OrderForm: Sendable, Equatable {
    public let sessionID: String
    public let merchantID: String
    /// The brand may be empty and the return URLs absent: the merchant's own settings fill them in.
    public let order: PaymentOrder
    /// `sandbox_scenario`, when the form or the form's URL names one: it replaces the merchant's.
    public let scenario: Scenario?

    /// The phone field under both its names: the seed's table writes `phonennumber`, TMoney's usage is
    /// `phonenumber`.
    static let phoneFields = ["phonenumber", "phonennumber"]
    static let fields = [
        "sessionid", "merchantid", "amount", "currency", "purchaseref", "brand", "description", "accepturl",
        "declineurl", "cancelurl", "text", "language", "sandbox_scenario",
    ] + phoneFields

    /// `query` is the form's action URL's query string: `sandbox_scenario` may be given there instead, for
    /// a merchant that cannot add a field to its form. The form's own field wins.
    public static func parse(_ form: Parameters, query: Parameters = Parameters()) throws(ValidationErrors) -> OrderForm {
        var errors: [FieldError] = []
        func check<T>(_ body: () throws(FieldError) -> T) -> T? {
            do { return try body() } catch { errors.append(error); return nil }
        }
        for name in fields where form.count(of: name) > 1 {
            errors.append(FieldError(name, "is given more than once"))
        }
        func required(_ name: String) -> String? {
            guard let value = form[name], !value.isEmpty else {
                errors.append(FieldError(name, "is required"))
                return nil
            }
            return value
        }
        /// Empty optional fields count as absent.
        func optional(_ name: String) -> String? { form[name].flatMap { $0.isEmpty ? nil : $0 } }

        let sessionID = required("sessionid")
        let merchantID = required("merchantid").flatMap { value in check { () throws(FieldError) in try FieldRule.merchantID(value) } }
        let amount = required("amount").flatMap { value in check { () throws(FieldError) in try FieldRule.amount(value) } }
        let currency = required("currency").flatMap { value in check { () throws(FieldError) in try FieldRule.currency(value) } }
        let purchaseref = required("purchaseref").flatMap { value in check { () throws(FieldError) in try FieldRule.purchaseRef(value) } }
        var phone: String?
        let phones = phoneFields.compactMap { name in optional(name).map { (name: name, value: $0) } }
        if phones.count == 2 && phones[0].value != phones[1].value {
            errors.append(FieldError(phones[1].name, "differs from \(phones[0].name): send the phone number once"))
        } else if let given = phones.first, check({ () throws(FieldError) in try FieldRule.phone(given.value, field: given.name) }) != nil {
            phone = given.value
        }
        var brand: String?
        if let value = form["brand"] {
            // Present but empty: TMoney shows the merchant's own name instead.
            brand = value.allSatisfy(\.isWhitespace) ? "" : check { () throws(FieldError) in try FieldRule.brand(value) }
        } else {
            errors.append(FieldError("brand", "is required (it may be empty: the merchant's name is shown then)"))
        }
        let description = optional("description").flatMap { value in check { () throws(FieldError) in try FieldRule.description(value) } }
        let text = optional("text").flatMap { value in check { () throws(FieldError) in try FieldRule.text(value) } }
        var language: Language? = .fr
        if let value = optional("language") { language = check { () throws(FieldError) in try FieldRule.language(value) } }
        func url(_ name: String) -> String? {
            optional(name).flatMap { value in check { () throws(FieldError) in try WebAddress.check(value, field: name, limit: 150) } }
        }
        let returnURLs = ReturnURLs(accept: url("accepturl"), decline: url("declineurl"), cancel: url("cancelurl"))
        var scenario: Scenario?
        if let text = optional("sandbox_scenario") ?? query["sandbox_scenario"].flatMap({ $0.isEmpty ? nil : $0 }) {
            do {
                scenario = try Scenario(parsing: text)
            } catch {
                errors.append(FieldError("sandbox_scenario", error.description))
            }
        }
        guard errors.isEmpty, let sessionID, let merchantID, let amount, let currency, let purchaseref, let brand,
              let language else {
            throw ValidationErrors(errors)
        }
        let order = PaymentOrder(
            purchaseref: purchaseref, amount: amount, currency: currency, phone: phone, brand: brand, description: description,
            text: text, language: language, returnURLs: returnURLs)
        return OrderForm(sessionID: sessionID, merchantID: merchantID, order: order, scenario: scenario)
    }

    /// The form's decline URL, when it is a valid one: where a shopper whose form was refused may go back.
    static func declineURL(in form: Parameters) -> String? {
        guard form.count(of: "declineurl") == 1, let value = form["declineurl"], !value.isEmpty else { return nil }
        return try? WebAddress.check(value, field: "declineurl", limit: 150)
    }

    /// The order as TMoney handles it for `merchant`: its name for an empty brand, its configured pages for
    /// return URLs the form did not give.
    func order(for merchant: SandboxConfiguration.Merchant) -> PaymentOrder {
        PaymentOrder(
            purchaseref: order.purchaseref, amount: order.amount, currency: order.currency, phone: order.phone,
            brand: order.brand.isEmpty ? merchant.name : order.brand, description: order.description, text: order.text,
            language: order.language,
            returnURLs: ReturnURLs(
                accept: order.returnURLs.accept ?? merchant.returnURLs.accept,
                decline: order.returnURLs.decline ?? merchant.returnURLs.decline,
                cancel: order.returnURLs.cancel ?? merchant.returnURLs.cancel))
    }
}
