import Support

/// Money the merchant sends to a number (a supplier, a courier), by a credit from its account: asked for by the
/// merchant's back end under a reference of its own, which makes it idempotent. Like a refund, it is recorded
/// before its credit is sent, each send is recorded before it leaves, and a lost answer is resolved by a status
/// call before anything is sent again.
public struct Payout: Sendable, Codable, Equatable {
    /// The merchant's reference: 1 to 100 visible ASCII characters.
    public let reference: String
    public let phone: PhoneNumber
    /// Whole francs.
    public let amount: Int64
    public let description: String
    public let `operator`: Operator
    /// The credit's unique id at the operator (MBANKING's `idRequete`).
    public let creditReference: String
    public let createdAt: Timestamp
    public var status: Refund.Status
    public var updatedAt: Timestamp
    public var operatorReference: String?
    public var failure: String?
    public var sends: Int
    public var lastCheck: AttemptCheck?
    /// Grows by one with every change.
    public var revision: Int

    public init(reference: String, phone: PhoneNumber, amount: Int64, description: String, operator: Operator, creditReference: String, createdAt: Timestamp) {
        self.reference = reference
        self.phone = phone
        self.amount = amount
        self.description = description
        self.operator = `operator`
        self.creditReference = creditReference
        self.createdAt = createdAt
        status = .pending
        updatedAt = createdAt
        operatorReference = nil
        failure = nil
        sends = 0
        lastCheck = nil
        revision = 1
    }

    /// Whether another request under the same reference asks for the same payout.
    public func sameRequest(as other: Payout) -> Bool {
        phone == other.phone && amount == other.amount && description == other.description
    }

    enum CodingKeys: String, CodingKey {
        case reference, phone, amount, description, `operator`
        case creditReference = "credit_reference"
        case createdAt = "created_at"
        case status
        case updatedAt = "updated_at"
        case operatorReference = "operator_reference"
        case failure, sends
        case lastCheck = "last_check"
        case revision
    }
}

/// The caps a merchant sets on payouts.
public struct PayoutLimits: Sendable, Equatable {
    /// Per payout, in francs.
    public var perPayout: Int64
    /// Per UTC day, every payout that did not fail counted.
    public var perDay: Int64

    public init(perPayout: Int64, perDay: Int64) {
        self.perPayout = perPayout
        self.perDay = perDay
    }
}

/// A payout request's fields, checked one by one.
public struct PayoutFields: Sendable {
    public var reference: String?
    public var phone: String?
    public var amount: Int64?
    /// Set when `amount` was given but is not a whole number of francs.
    public var amountIsInvalid: Bool
    public var description: String?

    public init(reference: String?, phone: String?, amount: Int64?, amountIsInvalid: Bool = false, description: String?) {
        self.reference = reference
        self.phone = phone
        self.amount = amount
        self.amountIsInvalid = amountIsInvalid
        self.description = description
    }

    /// The payout's reference, number, amount and description, or every field at fault. `operator` is the one
    /// that can send credits: a number in another's range is refused.
    public func validate(limits: PayoutLimits, operator: Operator) throws(ValidationErrors) -> (reference: String, phone: PhoneNumber, amount: Int64, description: String) {
        var errors: [FieldError] = []
        let reference = self.reference ?? ""
        if reference.isEmpty || reference.utf8.count > 100 || !reference.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            errors.append(FieldError("reference", "is required: 1 to 100 visible ASCII characters, unique per payout"))
        }
        var phone: PhoneNumber?
        switch Result(catching: { () throws(PhoneNumber.Problem) in try PhoneNumber.mobile(self.phone ?? "") }) {
        case .success(let number) where number.suggestedOperator == `operator`:
            phone = number
        case .success(let number):
            errors.append(FieldError("phone", "is in \(number.suggestedOperator?.displayName ?? "another operator")'s range: payouts are available to \(`operator`.displayName) numbers only (\(number.suggestedOperator?.displayName ?? "that operator") has no public credit service yet)"))
        case .failure(.notTogolese):
            errors.append(FieldError("phone", "is required: a Togolese mobile number (+228 and 8 digits)"))
        case .failure(.noMobileOperator):
            errors.append(FieldError("phone", "is in no Togolese mobile operator's range"))
        }
        if amountIsInvalid || amount.map({ $0 < 1 }) ?? true {
            errors.append(FieldError("amount", "is required: a whole number of francs, more than 0"))
        } else if let amount, amount > limits.perPayout {
            errors.append(FieldError("amount", "is more than a payout may be: \(limits.perPayout) F CFA (payout_max_amount)"))
        }
        let description = self.description ?? ""
        if description.unicodeScalars.count > 100 { errors.append(FieldError("description", "must be at most 100 characters")) }
        guard errors.isEmpty, let phone, let amount else { throw ValidationErrors(errors) }
        return (reference, phone, amount, description)
    }
}
