import Foundation

extension OrderFields {
    /// The body of an order request was not a JSON object.
    public struct NotAJSONObject: Error, Sendable {}

    /// Reads an order request's JSON (`POST /api/orders`): strings, and `amount` as a whole number or a string
    /// of digits. Fields of any other shape (a fractional amount, an unknown field) come back as errors naming
    /// them, beside the fields that could be read, so that a client hears of every problem at once.
    public static func decode(json: [UInt8]) throws(NotAJSONObject) -> (fields: OrderFields, errors: [FieldError]) {
        do {
            let body = try JSONDecoder().decode(OrderJSON.self, from: Data(json))
            return (body.fields, body.errors)
        } catch {
            throw NotAJSONObject()
        }
    }
}

/// An order request's JSON, read field by field so that every field of the wrong shape is reported.
struct OrderJSON: Decodable {
    var fields = OrderFields()
    var errors: [FieldError] = []

    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    static let names: Set<String> = [
        "purchaseref", "amount", "currency", "description", "brand", "phone", "language", "text",
        "accept_url", "decline_url", "cancel_url",
    ]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !Self.names.contains(key.stringValue) {
            errors.append(FieldError(key.stringValue, "is not a field of an order"))
        }
        func string(_ name: String) -> String? {
            let key = Key(stringValue: name)
            guard container.contains(key), (try? container.decodeNil(forKey: key)) == false else { return nil }
            if let value = try? container.decode(String.self, forKey: key) { return value }
            errors.append(FieldError(name, "must be a string"))
            return nil
        }
        let amountKey = Key(stringValue: "amount")
        if container.contains(amountKey), (try? container.decodeNil(forKey: amountKey)) == false {
            if let whole = try? container.decode(Int64.self, forKey: amountKey) {
                fields.amount = String(whole)
            } else if let text = try? container.decode(String.self, forKey: amountKey) {
                fields.amount = text
            } else {
                errors.append(FieldError("amount", "must be a whole number of F CFA, with no decimal point"))
            }
        }
        fields.purchaseref = string("purchaseref")
        fields.currency = string("currency")
        fields.description = string("description")
        fields.brand = string("brand")
        fields.phone = string("phone")
        fields.language = string("language")
        fields.text = string("text")
        fields.acceptURL = string("accept_url")
        fields.declineURL = string("decline_url")
        fields.cancelURL = string("cancel_url")
    }
}
