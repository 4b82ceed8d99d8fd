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

    public init(
        operator: Operator, outcome: Outcome, reason: String = "", purchaseref: String, amount: Int64, currency: String,
        transactionID: String = "", receipt: String = "", payer: Payer = Payer(), occurredAt: String = ""
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
