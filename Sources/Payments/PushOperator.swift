/// An operator that prompts the shopper's phone (TMoney's MBANKING push-USSD, Flooz's debit push): Cross asks
/// it to debit a number, the shopper approves with their PIN, the operator calls back. The callback is never
/// believed alone: `status(ofRequest:)` (check-transaction, verify) is the word an order follows. The wire
/// format is the operator's module's; the cashier, the checkout and reconciliation know only this protocol.
public protocol PushOperator: Sendable {
    var `operator`: Operator { get }
    /// How long the shopper has to approve a prompt: after it (and a margin), a request the operator does not
    /// know never reached it.
    var promptLifetimeSeconds: Int64 { get }
    /// Asks for the prompt. `.success` means only that the operator took the request; `.refused` that it never
    /// will (unknown or blocked number, …). A timeout or a broken connection says nothing: the request may have
    /// arrived, and only `status(ofRequest:)` can tell.
    func requestDebit(_ debit: OperatorRequest) -> Result<Void, OperatorFailure>
    /// What the operator knows of one of Cross's requests (a debit or a credit), by its reference.
    func status(ofRequest reference: String) -> Result<RequestStatus, OperatorFailure>
}

/// An operator that can send money to a number from the merchant's account (MBANKING's credit): refunds and
/// payouts.
public protocol CreditOperator: Sendable {
    var `operator`: Operator { get }
    /// Sends the credit. `.success` carries the operator's reference; `.refused` means no money moved. A
    /// timeout or a broken connection says nothing: the caller must ask `status(ofRequest:)` before anything is
    /// sent again.
    func credit(_ credit: OperatorRequest) -> Result<String, OperatorFailure>
    func status(ofRequest reference: String) -> Result<RequestStatus, OperatorFailure>
}

/// One request to an operator for a movement of money: a debit to prompt for, or a credit to send.
public struct OperatorRequest: Sendable, Equatable {
    /// Cross's unique id of the request (MBANKING's `idRequete`): a request sent again under it is the same
    /// request, and status calls find it by it.
    public let reference: String
    public let phone: PhoneNumber
    /// Whole francs.
    public let amount: Int64
    /// The merchant's reference the operator shows with it (the order's purchaseref, a payout's reference).
    public let label: String
    public let description: String
    public let requestedAt: Timestamp

    public init(reference: String, phone: PhoneNumber, amount: Int64, label: String, description: String, requestedAt: Timestamp) {
        self.reference = reference
        self.phone = phone
        self.amount = amount
        self.label = label
        self.description = description
        self.requestedAt = requestedAt
    }
}

/// Where an operator says one of Cross's requests stands.
public enum RequestStatus: Sendable, Equatable {
    /// The operator has no such request: it never arrived (and may be sent again under the same reference).
    case unknown
    /// Waiting: the shopper has not answered the prompt yet.
    case pending
    case succeeded(OperatorTransaction)
    /// Refused, declined, timed out at the operator: `code` and `message` as it gave them.
    case failed(code: String, message: String)
}

/// A movement of money as the operator recorded it.
public struct OperatorTransaction: Sendable, Equatable {
    /// The operator's own reference (MBANKING's `refTmoney`).
    public let reference: String
    /// Whole francs, as the operator says.
    public let amount: Int64
    public let currency: String
    /// The number it names, `228XXXXXXXX`, as it wrote it.
    public let phone: String
    /// When it happened, as the operator wrote it.
    public let occurredAt: String

    public init(reference: String, amount: Int64, currency: String, phone: String, occurredAt: String) {
        self.reference = reference
        self.amount = amount
        self.currency = currency
        self.phone = phone
        self.occurredAt = occurredAt
    }
}

extension RequestStatus {
    /// The event a push attempt's status leads to, if it is final; `expiredAt`: past this, a request the operator
    /// does not know never reached it and the attempt is expired.
    public func event(for attempt: Attempt, of order: Order, at now: Timestamp, expiredAt: Timestamp) -> PaymentEvent? {
        switch self {
        case .pending:
            return nil
        case .unknown:
            guard now >= expiredAt else { return nil }
            return PaymentEvent(
                operator: attempt.operator, outcome: .expired, reason: "NEVER_RECEIVED", purchaseref: order.ref, amount: order.amount.francs,
                currency: order.currency, transactionID: "request:" + attempt.reference, attempt: attempt.reference)
        case .succeeded(let transaction):
            return PaymentEvent(
                operator: attempt.operator, outcome: .paid, purchaseref: order.ref, amount: transaction.amount, currency: transaction.currency,
                transactionID: transaction.reference, receipt: transaction.reference, payer: Payer(phone: transaction.phone),
                occurredAt: transaction.occurredAt, attempt: attempt.reference)
        case .failed(let code, let message):
            return PaymentEvent(
                operator: attempt.operator, outcome: .declined, reason: String((code + " " + message).prefix(200)), purchaseref: order.ref,
                amount: order.amount.francs, currency: order.currency, transactionID: "request:" + attempt.reference,
                attempt: attempt.reference)
        }
    }
}

/// The references of push attempts: the order's key and 10 random hex digits (43 characters). An operator's
/// callback names the request alone: its key finds the order without an index, and the random part makes
/// every attempt's request unique.
public enum PushReference {
    public static func make(for key: OrderKey, random: String) -> String { key.hex + "-" + random }

    public static func orderKey(of reference: String) -> OrderKey? {
        guard reference.utf8.count > 33, reference.utf8.dropFirst(32).first == UInt8(ascii: "-") else { return nil }
        return OrderKey(hex: String(reference.prefix(32)))
    }
}

/// When reconciliation asks an operator about an open attempt or credit: a first time `firstAfter` seconds after
/// it started (the callback usually came by then), then ever more spaced (doubling, at most `maxInterval`).
/// A request the operator does not know `graceSeconds` after the prompt expired never reached it.
public struct ReconciliationSchedule: Sendable, Equatable {
    public var firstAfter: Int64
    public var maxInterval: Int64
    public var graceSeconds: Int64
    /// A credit the operator does not know is sent again only this long after its last send (see `CreditStep`).
    public var creditResendAfter: Int64

    public init(firstAfter: Int64 = 15, maxInterval: Int64 = 600, graceSeconds: Int64 = 30, creditResendAfter: Int64 = 60) {
        self.firstAfter = firstAfter
        self.maxInterval = maxInterval
        self.graceSeconds = graceSeconds
        self.creditResendAfter = creditResendAfter
    }

    public func isDue(startedAt: Timestamp, lastCheck: AttemptCheck?, at now: Timestamp) -> Bool {
        guard let lastCheck else { return now.seconds - startedAt.seconds >= firstAfter }
        let interval = min(firstAfter << min(Int64(lastCheck.count - 1), 20), maxInterval)
        return now.seconds - lastCheck.at.seconds >= max(interval, 1)
    }
}
