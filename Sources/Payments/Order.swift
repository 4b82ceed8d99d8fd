/// Where an order stands. Only TMoney's notification moves it to `paid`; the shopper's browser never does.
public enum OrderStatus: String, Sendable, Codable, CaseIterable, Comparable {
    /// Created, or back here for a new attempt after a cancel, a refusal or an expired session.
    case pending
    /// TMoney notified a payment of the right amount. Final.
    case paid
    /// The shopper cancelled on TMoney's page (`NOK` with `CANCEL`).
    case cancelled
    /// TMoney refused: authentication failed or the payment failed.
    case declined
    /// The shopper's TMoney session expired (`EXPIRED_SESSION`).
    case expired
    /// Something a person must look at: an amount or currency that differs, or a second payment.
    case review

    public static func < (lhs: OrderStatus, rhs: OrderStatus) -> Bool { lhs.rawValue < rhs.rawValue }

    /// States a new attempt (a fresh session id) may start from.
    public var allowsNewAttempt: Bool { self == .pending || self == .cancelled || self == .declined || self == .expired }
}

/// The shopper-facing pages the merchant asked Cross to link to after each outcome (on allowed hosts only).
public struct ReturnURLs: Sendable, Codable, Equatable {
    public var accept: String?
    public var decline: String?
    public var cancel: String?

    public init(accept: String? = nil, decline: String? = nil, cancel: String? = nil) {
        self.accept = accept
        self.decline = decline
        self.cancel = cancel
    }
}

/// One trip to TMoney: the session id Cross asked for and put in the order form.
public struct Attempt: Sendable, Codable, Equatable {
    public let sessionID: SessionID
    public let issuedAt: Timestamp
    public let expiresAt: Timestamp

    public init(sessionID: SessionID, issuedAt: Timestamp, expiresAt: Timestamp) {
        self.sessionID = sessionID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case issuedAt = "issued_at"
        case expiresAt = "expires_at"
    }
}

/// The money TMoney says it took, from the notification that marked the order paid.
public struct Payment: Sendable, Codable, Equatable {
    public let payid: String
    public let paymentref: String
    public let clientid: String
    public let cname: String
    public let mobile: String
    public let amount: Int64
    public let currency: String
    public let timestamp: String
    public let receivedAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case payid, paymentref, clientid, cname, mobile, amount, currency, timestamp
        case receivedAt = "received_at"
    }
}

/// A notification as received, with what it did to the order.
public struct NotificationRecord: Sendable, Codable, Equatable {
    public let notification: Notification
    public let receivedAt: Timestamp
    public let from: OrderStatus
    public let to: OrderStatus
    /// Why the order went to review, or why a notification changed nothing.
    public let note: String?

    enum CodingKeys: String, CodingKey {
        case notification
        case receivedAt = "received_at"
        case from, to, note
    }
}

/// A merchant's order: what to charge, how it was presented to TMoney, and everything TMoney said about it.
/// Stored as one JSON file; `revision` grows by one with every change, so that recovery can tell which of a
/// file and a journal record is newer.
public struct Order: Sendable, Codable, Equatable {
    public let ref: String
    public let key: OrderKey
    public let amount: Amount
    public let currency: String
    public let description: String?
    public let brand: String
    public let phone: String?
    public let language: Language
    public let text: String?
    public let returnURLs: ReturnURLs
    public let createdAt: Timestamp
    public var updatedAt: Timestamp
    /// After this, no new attempt starts; a late payment is still recorded.
    public let expiresAt: Timestamp
    public var status: OrderStatus
    public var revision: Int
    public var attempts: [Attempt]
    public var notifications: [NotificationRecord]
    public var payment: Payment?
    public var reviewReasons: [String]

    public init(_ new: NewOrder, createdAt: Timestamp, lifetimeSeconds: Int64) {
        ref = new.ref
        key = OrderKey(ref: new.ref)
        amount = new.amount
        currency = new.currency
        description = new.description
        brand = new.brand
        phone = new.phone
        language = new.language
        text = new.text
        returnURLs = new.returnURLs
        self.createdAt = createdAt
        updatedAt = createdAt
        expiresAt = createdAt.adding(seconds: lifetimeSeconds)
        status = .pending
        revision = 1
        attempts = []
        notifications = []
        payment = nil
        reviewReasons = []
    }

    /// What the merchant asked for, to tell a repeated request (same order) from a conflicting one.
    public var request: NewOrder {
        NewOrder(
            ref: ref, amount: amount, currency: currency, description: description, brand: brand, phone: phone,
            language: language, text: text, returnURLs: returnURLs)
    }

    enum CodingKeys: String, CodingKey {
        case ref = "purchaseref"
        case key, amount, currency, description, brand, phone, language, text
        case returnURLs = "return_urls"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case expiresAt = "expires_at"
        case status, revision, attempts, notifications, payment
        case reviewReasons = "review_reasons"
    }
}

/// An order as a merchant asks for it, validated field by field.
public struct NewOrder: Sendable, Equatable {
    public let ref: String
    public let amount: Amount
    public let currency: String
    public let description: String?
    public let brand: String
    public let phone: String?
    public let language: Language
    public let text: String?
    public let returnURLs: ReturnURLs

    public init(
        ref: String, amount: Amount, currency: String, description: String?, brand: String, phone: String?,
        language: Language, text: String?, returnURLs: ReturnURLs
    ) {
        self.ref = ref
        self.amount = amount
        self.currency = currency
        self.description = description
        self.brand = brand
        self.phone = phone
        self.language = language
        self.text = text
        self.returnURLs = returnURLs
    }
}

/// What a merchant may leave out, and the rules an order must follow: from the configuration.
public struct OrderPolicy: Sendable {
    public var currency: String
    public var brand: String
    public var language: Language
    public var allowedReturnHosts: [String]
    public var defaultReturnURLs: ReturnURLs

    public init(currency: String, brand: String, language: Language, allowedReturnHosts: [String], defaultReturnURLs: ReturnURLs) {
        self.currency = currency
        self.brand = brand
        self.language = language
        self.allowedReturnHosts = allowedReturnHosts
        self.defaultReturnURLs = defaultReturnURLs
    }
}

/// The fields of an order request as text, before validation (from the JSON API or a payment button).
public struct OrderFields: Sendable, Equatable {
    public var purchaseref: String?
    public var amount: String?
    public var currency: String?
    public var description: String?
    public var brand: String?
    public var phone: String?
    public var language: String?
    public var text: String?
    public var acceptURL: String?
    public var declineURL: String?
    public var cancelURL: String?

    public init(
        purchaseref: String? = nil, amount: String? = nil, currency: String? = nil, description: String? = nil,
        brand: String? = nil, phone: String? = nil, language: String? = nil, text: String? = nil,
        acceptURL: String? = nil, declineURL: String? = nil, cancelURL: String? = nil
    ) {
        self.purchaseref = purchaseref
        self.amount = amount
        self.currency = currency
        self.description = description
        self.brand = brand
        self.phone = phone
        self.language = language
        self.text = text
        self.acceptURL = acceptURL
        self.declineURL = declineURL
        self.cancelURL = cancelURL
    }

    /// Checks every field against the spec's table and the merchant's policy; all failures at once.
    /// Empty optional fields count as absent.
    public func validate(_ policy: OrderPolicy) throws(ValidationErrors) -> NewOrder {
        var errors: [FieldError] = []
        func check<T>(_ body: () throws(FieldError) -> T) -> T? {
            do { return try body() } catch { errors.append(error); return nil }
        }
        func present(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }

        let ref = check { () throws(FieldError) in
            guard let purchaseref else { throw FieldError("purchaseref", "is required") }
            return try Field.purchaseRef(purchaseref)
        }
        let amount = check { () throws(FieldError) in
            guard let amount = present(self.amount) else { throw FieldError("amount", "is required") }
            return try Field.amount(amount)
        }
        let currency = check { () throws(FieldError) in
            let currency = try Field.currency(present(self.currency) ?? policy.currency)
            guard currency == policy.currency else {
                throw FieldError("currency", "must be \(policy.currency), the currency this merchant takes")
            }
            return currency
        }
        let description = check { () throws(FieldError) in try present(self.description).map { v throws(FieldError) in try Field.description(v) } }
        let brand = check { () throws(FieldError) in try Field.brand(present(self.brand) ?? policy.brand) }
        let phone = check { () throws(FieldError) in try present(self.phone).map { v throws(FieldError) in try Field.phone(v, field: "phone") } }
        let language = check { () throws(FieldError) in try present(self.language).map { v throws(FieldError) in try Field.language(v) } ?? policy.language }
        let text = check { () throws(FieldError) in try present(self.text).map { v throws(FieldError) in try Field.text(v) } }
        func url(_ value: String?, _ fallback: String?, _ field: String) -> String? {
            guard let value = present(value) else { return fallback }
            return check { () throws(FieldError) in try Field.returnURL(value, allowedHosts: policy.allowedReturnHosts, field: field) }
        }
        let returnURLs = ReturnURLs(
            accept: url(acceptURL, policy.defaultReturnURLs.accept, "accept_url"),
            decline: url(declineURL, policy.defaultReturnURLs.decline, "decline_url"),
            cancel: url(cancelURL, policy.defaultReturnURLs.cancel, "cancel_url"))
        guard errors.isEmpty, let ref, let amount, let currency, let description, let brand, let phone, let language,
              let text else {
            throw ValidationErrors(errors)
        }
        return NewOrder(
            ref: ref, amount: amount, currency: currency, description: description, brand: brand, phone: phone,
            language: language, text: text, returnURLs: returnURLs)
    }
}
