import Payments

extension TMoneyOnline {
    /// What TMoney Online says of a payment, by GET on the merchant's notification URL (the seed's "notification
    /// url"): the one authoritative word on a redirect payment. Read strictly here, then handed to the order
    /// lifecycle as a provider-neutral `PaymentEvent`.
    public struct Notification: Sendable, Equatable {
        public enum Status: String, Sendable {
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

        /// The notification in Cross's words. `OK` is paid; `NOK` is cancelled (`CANCEL`), expired
        /// (`EXPIRED_SESSION`) or declined (`AUTHENTICATION`, `PAYMENT_FAILED`, and any code the spec does not name).
        public var event: PaymentEvent {
            let outcome: PaymentEvent.Outcome = switch (status, error) {
            case (.ok, _): .paid
            case (.nok, "CANCEL"): .cancelled
            case (.nok, "EXPIRED_SESSION"): .expired
            case (.nok, _): .declined
            }
            return PaymentEvent(
                operator: .tmoney, outcome: outcome, reason: error, purchaseref: purchaseref, amount: amount, currency: currency,
                transactionID: payid, receipt: paymentref, payer: Payer(account: clientid, name: cname, phone: mobile),
                occurredAt: timestamp)
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
                if !value.isEmpty && (value.unicodeScalars.count > max || value.unicodeScalars.contains(where: FieldRule.isControl) || !valid(value)) {
                    errors.append(FieldError(name, rule))
                }
                return value
            }
            let digits: (String) -> Bool = { $0.utf8.allSatisfy(FieldRule.isDigit) }

            let purchaseref = required("purchaseref")
            if let purchaseref {
                do { _ = try FieldRule.purchaseRef(purchaseref) } catch { errors.append(error) }
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
}
