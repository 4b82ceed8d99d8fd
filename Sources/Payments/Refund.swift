/// Money sent back to the shopper who paid an order, by a credit from the merchant's account to the payer's
/// number. Kept in the order's file, so that it is journaled and recovered with it: a refund is recorded
/// `pending` before its credit is sent, and nothing is sent again before a status call says the first never
/// arrived (see `Cashier.settle(refund:)`).
public struct Refund: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        /// Recorded; its credit is being sent, or its answer is not known yet.
        case pending
        case succeeded
        case failed
    }

    /// `rf_` and 20 hex digits: the refund's name in the API.
    public let id: String
    /// The merchant's `Idempotency-Key`: the same key again is the same refund.
    public let idempotencyKey: String
    /// Whole francs.
    public let amount: Int64
    public let reason: String
    public let `operator`: Operator
    /// Where the money goes: the number that paid.
    public let phone: PhoneNumber
    /// The credit's unique id at the operator (MBANKING's `idRequete`): sent again only under it.
    public let creditReference: String
    public let createdAt: Timestamp
    public var status: Status
    public var updatedAt: Timestamp
    /// The operator's reference of the credit, once it succeeded.
    public var operatorReference: String?
    /// Why it failed, as the operator said.
    public var failure: String?
    /// How many times the credit was sent (a second time only after a status call said the operator had no such
    /// request).
    public var sends: Int
    /// The last status call's answer.
    public var lastCheck: AttemptCheck?

    public init(
        id: String, idempotencyKey: String, amount: Int64, reason: String, operator: Operator, phone: PhoneNumber, creditReference: String,
        createdAt: Timestamp
    ) {
        self.id = id
        self.idempotencyKey = idempotencyKey
        self.amount = amount
        self.reason = reason
        self.operator = `operator`
        self.phone = phone
        self.creditReference = creditReference
        self.createdAt = createdAt
        status = .pending
        updatedAt = createdAt
        operatorReference = nil
        failure = nil
        sends = 0
        lastCheck = nil
    }

    enum CodingKeys: String, CodingKey {
        case id
        case idempotencyKey = "idempotency_key"
        case amount, reason, `operator`, phone
        case creditReference = "credit_reference"
        case createdAt = "created_at"
        case status
        case updatedAt = "updated_at"
        case operatorReference = "operator_reference"
        case failure, sends
        case lastCheck = "last_check"
    }
}

/// Why a refund cannot be made.
public enum RefundRefusal: Error, Sendable, Equatable {
    /// Only a paid order is refunded (`status` names the order's).
    case notPaid(OrderStatus)
    /// More than is left to refund: `left` francs.
    case exceedsPaid(left: Int64)
    /// The payment's number is not one the operator can credit (TMoney Online gave none).
    case noPayerNumber
    /// The operator that took the payment cannot send money back (Flooz: no public credit API).
    case operatorCannotCredit(Operator)
}

extension Order {
    /// Francs refunded or being refunded: every refund that did not fail.
    public var refundedAmount: Int64 {
        refunds.filter { $0.status != .failed }.reduce(0) { $0 + $1.amount }
    }

    /// Whether `amount` more can be refunded now, and to which number.
    public func refundable(_ amount: Int64) throws(RefundRefusal) -> PhoneNumber {
        guard status == .paid, let payment else { throw .notPaid(status) }
        let left = payment.amount - refundedAmount
        guard amount <= left else { throw .exceedsPaid(left: max(left, 0)) }
        guard let phone = PhoneNumber(payment.payer.phone) else { throw .noPayerNumber }
        return phone
    }

    public func refund(idempotencyKey: String) -> Refund? { refunds.first { $0.idempotencyKey == idempotencyKey } }
    public func refund(id: String) -> Refund? { refunds.first { $0.id == id } }
}

/// What to do next with a credit (a refund's, a payout's) that is still pending: the one rule that keeps a credit
/// from being paid twice. A credit never sent is sent. One sent at least once is asked about first, and sent
/// again only when the operator does not know it and the last send is older than `resendAfter` seconds (longer than
/// any answer to it could take: `credit_resend_after_seconds`, 60 by default).
public enum CreditStep: Sendable, Equatable {
    case send
    /// Nothing final: recorded as the last check.
    case wait(String)
    case succeeded(operatorReference: String)
    case failed(String)

    /// `status` is nil for a credit never sent (no call needed).
    public static func next(
        sends: Int, lastSentAt: Timestamp, status: Result<RequestStatus, OperatorFailure>?, at now: Timestamp, resendAfter: Int64
    ) -> CreditStep {
        guard sends > 0, let status else { return .send }
        switch status {
        case .success(.unknown):
            return now.seconds - lastSentAt.seconds < resendAfter ? .wait("unknown: sent again after \(resendAfter) s") : .send
        case .success(.pending): return .wait("pending")
        case .success(.succeeded(let transaction)): return .succeeded(operatorReference: transaction.reference)
        case .success(.failed(let code, let message)): return .failed("\(code) \(message)")
        case .failure(let failure): return .wait("status call failed: \(failure)")
        }
    }
}
