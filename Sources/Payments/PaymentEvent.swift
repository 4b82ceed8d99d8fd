/// What an operator says became of a payment, in Cross's words: the one input of the order lifecycle, whichever
/// operator and way of paying it comes from. Each operator's module reads its own wire format into this (TMoney
/// Online's notification, an MBANKING callback confirmed by check-transaction, …).
public struct PaymentEvent: Sendable, Codable, Equatable {
    public enum Outcome: String, Sendable, Codable, CaseIterable {
        /// The money was taken.
        case paid
        /// The operator refused: authentication failed, the balance was short, …
        case declined
        /// The shopper cancelled.
        case cancelled
        /// The shopper's session or prompt ran out before they paid.
        case expired
    }

    public let `operator`: Operator
    public let outcome: Outcome
    /// Why a payment did not happen, as the operator's code (`CANCEL`, `AUTHENTICATION`, `PAYMENT_FAILED`,
    /// `EXPIRED_SESSION`, …); empty when paid.
    public let reason: String
    /// The order the operator names.
    public let purchaseref: String
    /// What the operator says was taken (or would have been), in whole francs: any number of digits up to 10, so
    /// that a wrong amount is recorded (and puts the order in review) rather than refused.
    public let amount: Int64
    /// ISO 4217 numeric: `952`.
    public let currency: String
    /// The operator's id of the money movement (TMoney Online's `payid`): two events with the same one are the
    /// same payment.
    public let transactionID: String
    /// The receipt reference the shopper is given (TMoney Online's `paymentref`).
    public let receipt: String
    public let payer: Payer
    /// When the operator says it happened, as it wrote it (TMoney Online: Unix seconds).
    public let occurredAt: String
    /// The reference of the attempt it ends (a push request's id); empty for TMoney Online's notification, which
    /// names the order only.
    public let attempt: String

    public init(
        operator: Operator, outcome: Outcome, reason: String = "", purchaseref: String, amount: Int64, currency: String,
        transactionID: String = "", receipt: String = "", payer: Payer = Payer(), occurredAt: String = "", attempt: String = ""
    ) {
        self.operator = `operator`
        self.outcome = outcome
        self.reason = reason
        self.purchaseref = purchaseref
        self.amount = amount
        self.currency = currency
        self.transactionID = transactionID
        self.receipt = receipt
        self.payer = payer
        self.occurredAt = occurredAt
        self.attempt = attempt
    }

    /// Two deliveries of one event share this: the same outcome of the same money movement. Without a transaction
    /// id (a refusal may carry none), the receipt and the time stand in for it.
    public var identity: String {
        let tail = transactionID.isEmpty ? receipt + "|" + occurredAt : ""
        return [self.operator.rawValue, outcome.rawValue, transactionID, reason, tail].joined(separator: "|")
    }

    /// The status this event leads an order to when nothing stands in its way.
    public var status: OrderStatus {
        switch outcome {
        case .paid: .paid
        case .declined: .declined
        case .cancelled: .cancelled
        case .expired: .expired
        }
    }

    enum CodingKeys: String, CodingKey {
        case `operator`, outcome, reason, purchaseref, amount, currency
        case transactionID = "transaction_id"
        case receipt, payer
        case occurredAt = "occurred_at"
        case attempt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.operator = try container.decode(Operator.self, forKey: .operator)
        outcome = try container.decode(Outcome.self, forKey: .outcome)
        reason = try container.decode(String.self, forKey: .reason)
        purchaseref = try container.decode(String.self, forKey: .purchaseref)
        amount = try container.decode(Int64.self, forKey: .amount)
        currency = try container.decode(String.self, forKey: .currency)
        transactionID = try container.decode(String.self, forKey: .transactionID)
        receipt = try container.decode(String.self, forKey: .receipt)
        payer = try container.decode(Payer.self, forKey: .payer)
        occurredAt = try container.decode(String.self, forKey: .occurredAt)
        attempt = try container.decodeIfPresent(String.self, forKey: .attempt) ?? ""
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(amount, forKey: .amount)
        if !attempt.isEmpty { try container.encode(attempt, forKey: .attempt) }
        try container.encode(currency, forKey: .currency)
        try container.encode(occurredAt, forKey: .occurredAt)
        try container.encode(self.operator, forKey: .operator)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(payer, forKey: .payer)
        try container.encode(purchaseref, forKey: .purchaseref)
        try container.encode(reason, forKey: .reason)
        try container.encode(receipt, forKey: .receipt)
        try container.encode(transactionID, forKey: .transactionID)
    }
}

/// Who paid, as the operator knows them.
public struct Payer: Sendable, Codable, Equatable {
    /// Their account at the operator (TMoney Online's `clientid`).
    public let account: String
    /// Their name as registered (`cname`).
    public let name: String
    /// Their number, `228XXXXXXXX` (`mobile`).
    public let phone: String

    public init(account: String = "", name: String = "", phone: String = "") {
        self.account = account
        self.name = name
        self.phone = phone
    }
}

/// The money an operator took for an order: from the first event that said so.
public struct Payment: Sendable, Codable, Equatable {
    public let `operator`: Operator
    public let transactionID: String
    public let receipt: String
    public let payer: Payer
    public let amount: Int64
    public let currency: String
    public let occurredAt: String
    public let receivedAt: Timestamp

    public init(_ event: PaymentEvent, receivedAt: Timestamp) {
        self.operator = event.operator
        transactionID = event.transactionID
        receipt = event.receipt
        payer = event.payer
        amount = event.amount
        currency = event.currency
        occurredAt = event.occurredAt
        self.receivedAt = receivedAt
    }

    enum CodingKeys: String, CodingKey {
        case `operator`
        case transactionID = "transaction_id"
        case receipt, payer, amount, currency
        case occurredAt = "occurred_at"
        case receivedAt = "received_at"
    }
}

/// How an event reached Cross.
public enum EventSource: String, Sendable, Codable {
    /// The operator's server called Cross (TMoney Online's notification).
    case notification
    /// The operator's status call (check-transaction), asked after its callback.
    case callback
    /// The operator's status call, asked by the reconciliation job (or `cross reconcile`).
    case reconciliation
    /// The operator answered the request itself with a refusal (an unknown or blocked number).
    case request
}

/// An event as received, with what it did to the order.
public struct EventRecord: Sendable, Codable, Equatable {
    public let event: PaymentEvent
    public let source: EventSource
    public let receivedAt: Timestamp
    public let from: OrderStatus
    public let to: OrderStatus
    /// Why the order went to review, or why the event changed nothing.
    public let note: String?

    public init(event: PaymentEvent, source: EventSource, receivedAt: Timestamp, from: OrderStatus, to: OrderStatus, note: String?) {
        self.event = event
        self.source = source
        self.receivedAt = receivedAt
        self.from = from
        self.to = to
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case event, source
        case receivedAt = "received_at"
        case from, to, note
    }
}
