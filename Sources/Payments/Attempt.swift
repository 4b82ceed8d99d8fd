import Support

/// One try at paying an order: with one operator, one way, under one reference at the operator. An order gets
/// a new attempt each time the shopper starts paying again (after a cancel, a refusal, an expired session).
public struct Attempt: Sendable, Codable, Equatable {
    public let `operator`: Operator
    public let method: PaymentMethod
    /// The attempt's reference at the operator: for a redirect, TMoney Online's session id (a bearer credential
    /// for the shopper's payment: shown only shortened, see `shownReference`).
    public let reference: String
    public let issuedAt: Timestamp
    /// After this the operator no longer takes the attempt (a session id's 180 s).
    public let expiresAt: Timestamp
    /// The number a push attempt prompts.
    public let phone: PhoneNumber?
    /// The operator's last answer to a status call for this attempt (push attempts: reconciliation).
    public var lastCheck: AttemptCheck?

    public init(
        operator: Operator, method: PaymentMethod, reference: String, issuedAt: Timestamp, expiresAt: Timestamp, phone: PhoneNumber? = nil,
        lastCheck: AttemptCheck? = nil
    ) {
        self.operator = `operator`
        self.method = method
        self.reference = reference
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.phone = phone
        self.lastCheck = lastCheck
    }

    /// Whether an event of the order ends this attempt (a push attempt's confirmed result).
    public func isSettled(in order: Order) -> Bool {
        order.events.contains { $0.event.attempt == reference }
    }

    /// The reference as logs and the dashboard show it: a redirect's session id by its ends (`2787…2394`).
    public var shownReference: String {
        method == .redirect ? Redaction.ends(reference) : reference
    }

    enum CodingKeys: String, CodingKey {
        case `operator`, method, reference
        case issuedAt = "issued_at"
        case expiresAt = "expires_at"
        case phone
        case lastCheck = "last_check"
        /// Order files written before attempts had an operator: a TMoney Online session.
        case legacySessionID = "session_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        issuedAt = try container.decode(Timestamp.self, forKey: .issuedAt)
        expiresAt = try container.decode(Timestamp.self, forKey: .expiresAt)
        if let session = try container.decodeIfPresent(String.self, forKey: .legacySessionID) {
            self.operator = .tmoney
            method = .redirect
            reference = session
        } else {
            self.operator = try container.decode(Operator.self, forKey: .operator)
            method = try container.decode(PaymentMethod.self, forKey: .method)
            reference = try container.decode(String.self, forKey: .reference)
        }
        phone = try container.decodeIfPresent(PhoneNumber.self, forKey: .phone)
        lastCheck = try container.decodeIfPresent(AttemptCheck.self, forKey: .lastCheck)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(issuedAt, forKey: .issuedAt)
        try container.encodeIfPresent(lastCheck, forKey: .lastCheck)
        try container.encode(method, forKey: .method)
        try container.encode(self.operator, forKey: .operator)
        try container.encodeIfPresent(phone, forKey: .phone)
        try container.encode(reference, forKey: .reference)
    }
}

/// A status call's answer, kept on the attempt: the dashboard shows it, and reconciliation spaces its calls by it.
public struct AttemptCheck: Sendable, Codable, Equatable {
    public let at: Timestamp
    /// `pending`, `unknown`, `succeeded`, `failed`, or why the call gave nothing (`timeout`, …).
    public let result: String
    /// Status calls made for this attempt so far.
    public let count: Int

    public init(at: Timestamp, result: String, count: Int) {
        self.at = at
        self.result = result
        self.count = count
    }
}
