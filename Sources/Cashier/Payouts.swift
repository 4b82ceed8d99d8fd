import Logging
import OrderStorage
import Payments
import Support

/// Payouts: money the merchant sends to a number under a reference of its own, within the caps it set. The same
/// care as refunds (`CreditStep`): recorded before the credit leaves, resolved by a status call before any resend.
extension Cashier {
    public enum PayoutOutcome: Sendable {
        case created(Payout)
        /// The same reference with the same content: the payout as it is now.
        case repeated(Payout)
        /// The same reference with other content.
        case conflict(Payout)
        case invalid(ValidationErrors)
    }

    public func requestPayout(_ fields: PayoutFields, via credits: any CreditOperator) throws -> PayoutOutcome {
        guard let payouts else { throw StoreError.unavailable("no payout store") }
        let limits = settings.payoutLimits
        let valid: (reference: String, phone: PhoneNumber, amount: Int64, description: String)
        do { valid = try fields.validate(limits: limits, operator: credits.operator) } catch { return .invalid(error) }
        let now = clock()
        let payout = Payout(
            reference: valid.reference, phone: valid.phone, amount: valid.amount, description: valid.description, operator: credits.operator,
            creditReference: PushReference.make(for: OrderKey(ref: valid.reference), random: "p" + SecureRandom.hex(bytes: 5)), createdAt: now)
        let creation = try payouts.create(payout) { sameDay in
            let today = sameDay.filter { $0.status != .failed }.reduce(Int64(0)) { $0 + $1.amount }
            guard today + payout.amount <= limits.perDay else {
                return "is more than is left of today's payouts: \(max(limits.perDay - today, 0)) F CFA of \(limits.perDay) (payout_daily_limit)"
            }
            return nil
        }
        switch creation {
        case .existing(let existing):
            return existing.sameRequest(as: payout) ? .repeated(existing) : .conflict(existing)
        case .refused(let reason):
            return .invalid(ValidationErrors([FieldError("amount", reason)]))
        case .created(let created):
            logger.info("payout requested", metadata: [
                "payout": "\(created.reference)", "amount": "\(created.amount)", "phone": "\(created.phone.international)",
                "reference": "\(created.creditReference)",
            ])
            return .created(try settle(payout: created.reference, via: credits) ?? created)
        }
    }

    /// Moves a pending payout on (see `CreditStep`). Nil when there is no such payout.
    @discardableResult
    public func settle(payout reference: String, via credits: any CreditOperator) throws -> Payout? {
        guard let payouts, let payout = try payouts.payout(reference) else { return nil }
        guard payout.status == .pending else { return payout }
        let status = payout.sends > 0 ? credits.status(ofRequest: payout.creditReference) : nil
        let now = clock()
        switch CreditStep.next(sends: payout.sends, lastSentAt: payout.updatedAt, status: status, at: now, resendAfter: settings.reconciliation.creditResendAfter) {
        case .wait(let result):
            return try payouts.update(reference) { current in
                current.lastCheck = AttemptCheck(at: now, result: result, count: (current.lastCheck?.count ?? 0) + 1)
                current.revision += 1
                return (true, nil, ())
            }?.payout
        case .succeeded(let operatorReference):
            return try finish(payout: reference, .succeeded, operatorReference: operatorReference, failure: nil)
        case .failed(let failure):
            return try finish(payout: reference, .failed, operatorReference: nil, failure: failure)
        case .send:
            break
        }
        // Recorded before it leaves, and only if nobody sent it meanwhile.
        guard let (sending, mine) = try payouts.update(reference, { current in
            guard current.status == .pending, current.sends == payout.sends else { return (false, nil, false) }
            current.sends += 1
            current.updatedAt = now
            current.revision += 1
            return (true, nil, true)
        }) else { return nil }
        guard mine else { return sending }
        logger.info("payout credit sent", metadata: ["payout": "\(reference)", "reference": "\(sending.creditReference)", "send": "\(sending.sends)"])
        let request = OperatorRequest(
            reference: sending.creditReference, phone: sending.phone, amount: sending.amount, label: String(reference.prefix(50)),
            description: String((sending.description.isEmpty ? "Paiement" : sending.description).prefix(100)), requestedAt: now)
        switch credits.credit(request) {
        case .success(let operatorReference):
            return try finish(payout: reference, .succeeded, operatorReference: operatorReference, failure: nil)
        case .failure(.refused(let code)):
            return try finish(payout: reference, .failed, operatorReference: nil, failure: code)
        case .failure(let failure):
            logger.error("payout credit unanswered: a status call will tell before anything is sent again", metadata: [
                "payout": "\(reference)", "cause": "\(failure)",
            ])
            return try payouts.update(reference) { current in
                current.lastCheck = AttemptCheck(at: now, result: "unanswered: " + Self.describe(failure), count: (current.lastCheck?.count ?? 0) + 1)
                current.revision += 1
                return (true, nil, ())
            }?.payout
        }
    }

    private func finish(payout reference: String, _ status: Refund.Status, operatorReference: String?, failure: String?) throws -> Payout? {
        guard let payouts else { return nil }
        let now = clock()
        let webhook = settings.raisesWebhooks ? "payout." + status.rawValue : nil
        let updated = try payouts.update(reference) { current in
            guard current.status == .pending else { return (false, nil, ()) }
            current.status = status
            current.operatorReference = operatorReference
            current.failure = failure.map { String($0.prefix(200)) }
            current.updatedAt = now
            current.revision += 1
            return (true, webhook, ())
        }
        if let payout = updated?.payout {
            var metadata: Logger.Metadata = ["payout": "\(reference)", "status": "\(payout.status.rawValue)", "amount": "\(payout.amount)"]
            if let failure = payout.failure { metadata["failure"] = "\(failure)" }
            logger.info("payout status changed", metadata: metadata)
        }
        return updated?.payout
    }
}
