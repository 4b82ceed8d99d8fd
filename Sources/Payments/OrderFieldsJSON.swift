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
            return (OrderFields(values: body.values), body.errors)
        } catch {
            throw NotAJSONObject()
        }
    }
}

/// An order request's JSON, read field by field so that every field of the wrong shape is reported.
struct OrderJSON: Decodable {
    var values: [String: String] = [:]
    var errors: [FieldError] = []

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: NamedKey.self)
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
            let name = key.stringValue
            guard OrderFields.names.contains(name) else {
                errors.append(FieldError(name, "is not a field of an order"))
                continue
            }
            if (try? container.decodeNil(forKey: key)) == true { continue }
            if let text = try? container.decode(String.self, forKey: key) {
                values[name] = text
            } else if name == "amount", let whole = try? container.decode(Int64.self, forKey: key) {
                values[name] = String(whole)
            } else if name == "amount" {
                errors.append(FieldError("amount", "must be a whole number of F CFA, with no decimal point"))
            } else {
                errors.append(FieldError(name, "must be a string"))
            }
        }
    }
}
