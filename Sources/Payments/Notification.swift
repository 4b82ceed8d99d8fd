/// What TMoney says of a payment, by GET on the notification URL: the one authoritative word on it.
public struct Notification: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case ok = "OK"
        case nok = "NOK"
    }

    public let purchaseref: String
    /// The amount really paid, in francs (any number of digits up to 10: a wrong amount is recorded, not refused).
    public let amount: Int64
    public let currency: String
    public let status: Status
    public let clientid: String
    public let cname: String
    public let mobile: String
    public let paymentref: String
    public let payid: String
    public let timestamp: String
    /// Empty, or why a payment did not happen: `CANCEL`, `AUTHENTICATION`, `PAYMENT_FAILED`, `EXPIRED_SESSION`.
    public let error: String

    public init(
        purchaseref: String, amount: Int64, currency: String, status: Status, clientid: String = "", cname: String = "",
        mobile: String = "", paymentref: String = "", payid: String = "", timestamp: String = "", error: String = ""
    ) {
        self.purchaseref = purchaseref
        self.amount = amount
        self.currency = currency
        self.status = status
        self.clientid = clientid
        self.cname = cname
        self.mobile = mobile
        self.paymentref = paymentref
        self.payid = payid
        self.timestamp = timestamp
        self.error = error
    }

    /// The error codes the spec names. Another code from TMoney is kept as it came and treated as a refusal.
    public static let knownErrors = ["CANCEL", "AUTHENTICATION", "PAYMENT_FAILED", "EXPIRED_SESSION"]

    /// Two deliveries of one notification share this: the same payment (payid) and the same outcome.
    public var identity: String {
        let tail = payid.isEmpty ? paymentref + "|" + timestamp : ""
        return [status.rawValue, payid, error, tail].joined(separator: "|")
    }

    /// The status a notification leads to when nothing stands in its way.
    public var outcome: OrderStatus {
        switch status {
        case .ok: .paid
        case .nok:
            switch error {
            case "CANCEL": .cancelled
            case "EXPIRED_SESSION": .expired
            default: .declined
            }
        }
    }

    /// Reads a notification's GET parameters. A missing, repeated or malformed parameter is an error naming
    /// it; unknown extra parameters are ignored.
    public static func parse(_ parameters: [(name: String, value: String)]) throws(ValidationErrors) -> Notification {
        var errors: [FieldError] = []
        var values: [String: String] = [:]
        for (name, value) in parameters {
            if values[name] != nil {
                if !errors.contains(where: { $0.field == name }) { errors.append(FieldError(name, "is given more than once")) }
            } else {
                values[name] = value
            }
        }
        func required(_ name: String) -> String? {
            guard let value = values[name], !value.isEmpty else {
                errors.append(FieldError(name, "is required"))
                return nil
            }
            return value
        }
        func optional(_ name: String, max: Int, rule: String, _ valid: (String) -> Bool) -> String {
            let value = values[name] ?? ""
            if !value.isEmpty && (value.unicodeScalars.count > max || value.unicodeScalars.contains(where: Field.isControl) || !valid(value)) {
                errors.append(FieldError(name, rule))
            }
            return value
        }
        let digits: (String) -> Bool = { $0.utf8.allSatisfy(Field.isDigit) }

        let purchaseref = required("purchaseref")
        if let purchaseref {
            do { _ = try Field.purchaseRef(purchaseref) } catch { errors.append(error) }
        }
        var amount: Int64?
        if let text = required("amount") {
            if text.utf8.count <= 10, digits(text), let value = Int64(text) {
                amount = value
            } else {
                errors.append(FieldError("amount", "must be a whole number of francs, up to 10 digits, with no decimal point"))
            }
        }
        let currency = required("currency")
        if let currency, currency.utf8.count != 3 || !digits(currency) {
            errors.append(FieldError("currency", "must be 3 digits"))
        }
        var status: Status?
        if let text = required("status") {
            // Compared as bytes: `Status(rawValue:)` compares by canonical equivalence, in which "O\u{212A}" (with a
            // Kelvin sign) is "OK".
            status = [Status.ok, .nok].first { $0.rawValue.utf8.elementsEqual(text.utf8) }
            if status == nil { errors.append(FieldError("status", "must be OK or NOK")) }
        }
        let clientid = optional("clientid", max: 64, rule: "must be up to 64 characters") { _ in true }
        let cname = optional("cname", max: 150, rule: "must be up to 150 characters") { _ in true }
        let mobile = optional("mobile", max: 15, rule: "must be a phone number in international format, such as 22890000000") {
            $0.utf8.count >= 8 && digits($0)
        }
        let paymentref = optional("paymentref", max: 64, rule: "must be up to 64 characters") { _ in true }
        let payid = optional("payid", max: 64, rule: "must be up to 64 characters") { _ in true }
        let timestamp = optional("timestamp", max: 12, rule: "must be a Unix time in seconds") { digits($0) }
        let error = optional("error", max: 40, rule: "must be an error code such as CANCEL") {
            $0.utf8.allSatisfy { ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || $0 == UInt8(ascii: "_") }
        }
        switch status {
        case .ok:
            if !error.isEmpty { errors.append(FieldError("error", "must be empty when status is OK")) }
            if payid.isEmpty { errors.append(FieldError("payid", "is required when status is OK")) }
            if paymentref.isEmpty { errors.append(FieldError("paymentref", "is required when status is OK")) }
        case .nok:
            if error.isEmpty { errors.append(FieldError("error", "is required when status is NOK")) }
        case nil:
            break
        }
        guard errors.isEmpty, let purchaseref, let amount, let currency, let status else { throw ValidationErrors(errors) }
        return Notification(
            purchaseref: purchaseref, amount: amount, currency: currency, status: status, clientid: clientid, cname: cname,
            mobile: mobile, paymentref: paymentref, payid: payid, timestamp: timestamp, error: error)
    }

    /// The GET parameters, in the spec's order, as TMoney sends them.
    public var parameters: [(String, String)] {
        [
            ("purchaseref", purchaseref), ("amount", String(amount)), ("currency", currency), ("status", status.rawValue),
            ("clientid", clientid), ("cname", cname), ("mobile", mobile), ("paymentref", paymentref), ("payid", payid),
            ("timestamp", timestamp), ("error", error),
        ]
    }
}
