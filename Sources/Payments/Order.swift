/// Where an order stands. Only an operator's word moves it to `paid`; the shopper's browser never does.
public enum OrderStatus: String, Sendable, Codable, CaseIterable, Comparable {
    /// Created, or back here for a new attempt after a cancel, a refusal or an expired session.
    case pending
    /// An operator took the order's amount. Final.
    case paid
    /// The shopper cancelled.
    case cancelled
    /// The operator refused: authentication failed or the payment failed.
    case declined
    /// The shopper's session or prompt ran out.
    case expired
    /// Something a person must look at: an amount or currency that differs, or a second payment.
    case review

    public static func < (lhs: OrderStatus, rhs: OrderStatus) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A merchant's order: what to charge, how the shopper tried to pay it, and everything the operators said about
/// it. Stored as one JSON file; `revision` grows by one with every change, so that recovery can tell which of a
/// file and a journal record is newer.
public struct Order: Sendable, Codable, Equatable {
    public let ref: String
    public let key: OrderKey
    public let amount: Amount
    public let currency: String
    /// Shown at the top of the operator's page.
    public let brand: String
    public let language: Language
    public let details: OrderDetails
    public let createdAt: Timestamp
    public var updatedAt: Timestamp
    /// After this, no new attempt starts; a late payment is still recorded.
    public let expiresAt: Timestamp
    public var status: OrderStatus
    public var revision: Int
    public var attempts: [Attempt]
    public var events: [EventRecord]
    public var payment: Payment?
    public var reviewReasons: [String]
    /// Money sent back to the payer, in the order they were asked for.
    public var refunds: [Refund]

    public init(_ new: NewOrder, createdAt: Timestamp, lifetimeSeconds: Int64) {
        ref = new.ref
        key = OrderKey(ref: new.ref)
        amount = new.amount
        currency = new.currency
        brand = new.brand
        language = new.language
        details = new.details
        self.createdAt = createdAt
        updatedAt = createdAt
        expiresAt = createdAt.adding(seconds: lifetimeSeconds)
        status = .pending
        revision = 1
        attempts = []
        events = []
        payment = nil
        reviewReasons = []
        refunds = []
    }

    /// The operator the order was paid with, else the one of its latest attempt.
    public var `operator`: Operator? { payment?.operator ?? attempts.last?.operator }

    /// What the merchant asked for, to tell a repeated request (same order) from a conflicting one.
    public var request: NewOrder {
        NewOrder(ref: ref, amount: amount, currency: currency, brand: brand, language: language, details: details)
    }

    enum CodingKeys: String, CodingKey {
        case ref = "purchaseref"
        case key, amount, currency, brand, language, details
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case expiresAt = "expires_at"
        case status, revision, attempts, events, payment
        case reviewReasons = "review_reasons"
        case refunds
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        ref = try container.decode(String.self, forKey: .ref)
        key = try container.decode(OrderKey.self, forKey: .key)
        amount = try container.decode(Amount.self, forKey: .amount)
        currency = try container.decode(String.self, forKey: .currency)
        brand = try container.decode(String.self, forKey: .brand)
        language = try container.decode(Language.self, forKey: .language)
        createdAt = try container.decode(Timestamp.self, forKey: .createdAt)
        updatedAt = try container.decode(Timestamp.self, forKey: .updatedAt)
        expiresAt = try container.decode(Timestamp.self, forKey: .expiresAt)
        status = try container.decode(OrderStatus.self, forKey: .status)
        revision = try container.decode(Int.self, forKey: .revision)
        attempts = try container.decode([Attempt].self, forKey: .attempts)
        reviewReasons = try container.decode([String].self, forKey: .reviewReasons)
        refunds = try container.decodeIfPresent([Refund].self, forKey: .refunds) ?? []
        if container.contains(.events) {
            details = try container.decode(OrderDetails.self, forKey: .details)
            events = try container.decode([EventRecord].self, forKey: .events)
            payment = try container.decodeIfPresent(Payment.self, forKey: .payment)
        } else {
            // A file written before orders knew their operator (TMoney Online's notifications, inline details).
            let legacy = try LegacyOrderFields(from: decoder)
            details = legacy.details
            events = legacy.events
            payment = legacy.payment
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(amount, forKey: .amount)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(brand, forKey: .brand)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(currency, forKey: .currency)
        try container.encode(details, forKey: .details)
        try container.encode(events, forKey: .events)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(key, forKey: .key)
        try container.encode(language, forKey: .language)
        try container.encodeIfPresent(payment, forKey: .payment)
        try container.encode(ref, forKey: .ref)
        if !refunds.isEmpty { try container.encode(refunds, forKey: .refunds) }
        try container.encode(reviewReasons, forKey: .reviewReasons)
        try container.encode(revision, forKey: .revision)
        try container.encode(status, forKey: .status)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// An order as a merchant asks for it, validated field by field.
public struct NewOrder: Sendable, Equatable {
    public let ref: String
    public let amount: Amount
    public let currency: String
    public let brand: String
    public let language: Language
    public let details: OrderDetails

    public init(ref: String, amount: Amount, currency: String, brand: String, language: Language, details: OrderDetails = OrderDetails()) {
        self.ref = ref
        self.amount = amount
        self.currency = currency
        self.brand = brand
        self.language = language
        self.details = details
    }
}

/// What a merchant may leave out, and the rules an order must follow: from the configuration.
public struct OrderPolicy: Sendable {
    public var currency: String
    public var brand: String
    public var language: Language
    public var allowedReturnHosts: [String]
    /// Details an order gets when it gives none of its own (the configured return pages).
    public var defaults: OrderDetails

    public init(currency: String, brand: String, language: Language, allowedReturnHosts: [String], defaults: OrderDetails = OrderDetails()) {
        self.currency = currency
        self.brand = brand
        self.language = language
        self.allowedReturnHosts = allowedReturnHosts
        self.defaults = defaults
    }
}

/// The fields of an order request as text, before validation: from the JSON API, a payment button, `cross button`.
public struct OrderFields: Sendable, Equatable {
    public var purchaseref: String?
    public var amount: String?
    public var currency: String?
    public var brand: String?
    public var language: String?
    /// The optional fields by name (`OrderDetails.fields`).
    public var details: [String: String]

    public init(purchaseref: String? = nil, amount: String? = nil, currency: String? = nil, brand: String? = nil, language: String? = nil, details: [String: String] = [:]) {
        self.purchaseref = purchaseref
        self.amount = amount
        self.currency = currency
        self.brand = brand
        self.language = language
        self.details = details
    }

    /// Every field by its name (`purchaseref`, `amount`, …, `accept_url`); names that are not an order's are ignored.
    public init(values: [String: String]) {
        self.init(
            purchaseref: values["purchaseref"], amount: values["amount"], currency: values["currency"], brand: values["brand"],
            language: values["language"], details: values.filter { OrderDetails.names.contains($0.key) })
    }

    /// The names an order request may carry.
    public static let names: Set<String> = OrderDetails.names.union(["purchaseref", "amount", "currency", "brand", "language"])

    /// Checks every field against the spec's table and the merchant's policy; all failures at once. Empty optional
    /// fields count as absent.
    public func validate(_ policy: OrderPolicy) throws(ValidationErrors) -> NewOrder {
        var errors: [FieldError] = []
        func check<T>(_ body: () throws(FieldError) -> T) -> T? {
            do { return try body() } catch { errors.append(error); return nil }
        }
        func present(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }

        let ref = check { () throws(FieldError) in
            guard let purchaseref else { throw FieldError("purchaseref", "is required") }
            return try FieldRule.purchaseRef(purchaseref)
        }
        let amount = check { () throws(FieldError) in
            guard let amount = present(self.amount) else { throw FieldError("amount", "is required") }
            return try FieldRule.amount(amount)
        }
        let currency = check { () throws(FieldError) in
            let currency = try FieldRule.currency(present(self.currency) ?? policy.currency)
            guard currency == policy.currency else {
                throw FieldError("currency", "must be \(policy.currency), the currency this merchant takes")
            }
            return currency
        }
        let brand = check { () throws(FieldError) in try FieldRule.brand(present(self.brand) ?? policy.brand) }
        let language = check { () throws(FieldError) in try present(self.language).map { v throws(FieldError) in try FieldRule.language(v) } ?? policy.language }
        var details = policy.defaults
        for field in OrderDetails.fields {
            guard let value = present(self.details[field.name]) else { continue }
            details[keyPath: field.keyPath] = check { () throws(FieldError) in try field.check(value, policy) }
        }
        guard errors.isEmpty, let ref, let amount, let currency, let brand, let language else { throw ValidationErrors(errors) }
        return NewOrder(ref: ref, amount: amount, currency: currency, brand: brand, language: language, details: details)
    }
}
