import Logging
import OrderStorage
import Payments
import Support

/// Refunds: a credit from the merchant's account to the number that paid. A refund is recorded before its credit
/// is sent, each send is recorded before it leaves, and a credit whose answer was lost is resolved by a status
/// call before anything is sent again: no refund is ever paid twice, even across `kill -9`.
extension Cashier {
    public enum RefundOutcome: Sendable {
        /// A new refund (its credit sent, and perhaps already answered).
        case created(Order, Refund)
        /// The same `Idempotency-Key` with the same request: the refund as it is now.
        case repeated(Order, Refund)
        /// The same `Idempotency-Key` with another amount or reason.
        case conflict(Refund)
        case refused(Order, RefundRefusal)
        case missing
    }

    public func requestRefund(ref: String, amount: Int64, reason: String, idempotencyKey: String, via credits: any CreditOperator) throws -> RefundOutcome {
        let now = clock()
        enum Recorded { case new(Refund), repeated(Refund), conflict(Refund), refused(RefundRefusal) }
        let updated = try update(OrderKey(ref: ref)) { (order: inout Order) -> (change: OrderChange?, result: Recorded?) in
            guard order.ref == ref else { return (nil, nil) }
            if let existing = order.refund(idempotencyKey: idempotencyKey) {
                return (nil, existing.amount == amount && existing.reason == reason ? .repeated(existing) : .conflict(existing))
            }
            guard (order.payment?.operator ?? credits.operator) == credits.operator else {
                return (nil, .refused(.operatorCannotCredit(order.payment!.operator)))
            }
            let phone: PhoneNumber
            do throws(RefundRefusal) { phone = try order.refundable(amount) } catch { return (nil, .refused(error)) }
            let refund = Refund(
                id: "rf_" + SecureRandom.hex(bytes: 10), idempotencyKey: idempotencyKey, amount: amount, reason: reason, operator: credits.operator,
                phone: phone, creditReference: PushReference.make(for: order.key, random: "r" + SecureRandom.hex(bytes: 5)), createdAt: now)
            order.refunds.append(refund)
            order.revision += 1
            order.updatedAt = now
            var change = OrderChange(.refundRequested, at: now)
            change.note = "refund \(refund.id) of \(amount) F to \(phone.international)"
            return (change, .new(refund))
        }
        guard let (order, recorded) = updated, let recorded else { return .missing }
        switch recorded {
        case .repeated(let refund):
            // A retry of a refund still pending moves it on (a status call first, never a blind resend).
            guard refund.status == .pending, let settled = try settle(refund: refund.id, of: order.key, via: credits) else { return .repeated(order, refund) }
            return .repeated(settled.order, settled.refund)
        case .conflict(let refund): return .conflict(refund)
        case .refused(let refusal): return .refused(order, refusal)
        case .new(let refund):
            openWork.withLock { _ = $0.insert(order.key) }
            logger.info("refund requested", metadata: [
                "ref": "\(order.ref)", "order": "\(order.key)", "refund": "\(refund.id)", "amount": "\(refund.amount)",
                "phone": "\(refund.phone.international)", "reference": "\(refund.creditReference)",
            ])
            let settled = try settle(refund: refund.id, of: order.key, via: credits)
            return .created(settled?.order ?? order, settled?.refund ?? refund)
        }
    }

    /// Moves a pending refund on: its credit sent if it never was; else a status call first, and the credit sent
    /// again only when the operator says it has no such request. Nil when there is no such refund.
    @discardableResult
    public func settle(refund id: String, of key: OrderKey, via credits: any CreditOperator) throws -> (order: Order, refund: Refund)? {
        guard let order = try store.load(key), let refund = order.refund(id: id) else { return nil }
        guard refund.status == .pending else { return (order, refund) }
        // The credit left at least once: only the operator knows whether it arrived.
        let status = refund.sends > 0 ? credits.status(ofRequest: refund.creditReference) : nil
        switch CreditStep.next(sends: refund.sends, lastSentAt: refund.updatedAt, status: status, at: clock(), resendAfter: settings.reconciliation.creditResendAfter) {
        case .send: break
        case .wait(let result): return try recordCheck(refund, of: key, result: result)
        case .succeeded(let reference): return try finish(refund, of: key, .succeeded, operatorReference: reference, failure: nil)
        case .failed(let failure): return try finish(refund, of: key, .failed, operatorReference: nil, failure: failure)
        }
        // Recorded before it leaves: a crash from here on leaves `sends` counted, and the next pass asks first.
        let now = clock()
        guard let (current, sending) = try update(key, { (order: inout Order) -> (change: OrderChange?, result: Refund?) in
            guard let index = order.refunds.firstIndex(where: { $0.id == id }), order.refunds[index].status == .pending,
                order.refunds[index].sends == refund.sends
            else { return (nil, nil) }
            order.refunds[index].sends += 1
            order.refunds[index].updatedAt = now
            order.revision += 1
            order.updatedAt = now
            var change = OrderChange(.refundUpdated, at: now)
            change.note = "refund \(id): credit sent (\(order.refunds[index].sends))"
            return (change, order.refunds[index])
        }) else { return nil }
        // Another thread moved it on meanwhile: its word stands.
        guard let sending else { return current.refund(id: id).map { (current, $0) } }
        let request = OperatorRequest(
            reference: sending.creditReference, phone: sending.phone, amount: sending.amount, label: String(current.ref.prefix(50)),
            description: String(("Remboursement " + current.ref).prefix(100)), requestedAt: now)
        logger.info("refund credit sent", metadata: ["ref": "\(current.ref)", "refund": "\(id)", "reference": "\(sending.creditReference)", "send": "\(sending.sends)"])
        switch credits.credit(request) {
        case .success(let reference):
            return try finish(sending, of: key, .succeeded, operatorReference: reference, failure: nil)
        case .failure(.refused(let code)):
            return try finish(sending, of: key, .failed, operatorReference: nil, failure: code)
        case .failure(let failure):
            logger.error("refund credit unanswered: a status call will tell before anything is sent again", metadata: [
                "ref": "\(current.ref)", "refund": "\(id)", "cause": "\(failure)",
            ])
            return try recordCheck(sending, of: key, result: "unanswered: " + Self.describe(failure))
        }
    }

    private func recordCheck(_ refund: Refund, of key: OrderKey, result: String) throws -> (order: Order, refund: Refund)? {
        let now = clock()
        openWork.withLock { _ = $0.insert(key) }
        let updated = try update(key) { (order: inout Order) -> (change: OrderChange?, result: Refund?) in
            guard let index = order.refunds.firstIndex(where: { $0.id == refund.id }) else { return (nil, nil) }
            order.refunds[index].lastCheck = AttemptCheck(at: now, result: result, count: (order.refunds[index].lastCheck?.count ?? 0) + 1)
            order.revision += 1
            order.updatedAt = now
            var change = OrderChange(.attemptChecked, at: now)
            change.note = "refund \(refund.id): \(result)"
            return (change, order.refunds[index])
        }
        guard let (order, current) = updated, let current else { return nil }
        return (order, current)
    }

    private func finish(
        _ refund: Refund, of key: OrderKey, _ status: Refund.Status, operatorReference: String?, failure: String?
    ) throws -> (order: Order, refund: Refund)? {
        let now = clock()
        let updated = try update(key) { (order: inout Order) -> (change: OrderChange?, result: Refund?) in
            guard let index = order.refunds.firstIndex(where: { $0.id == refund.id }) else { return (nil, nil) }
            guard order.refunds[index].status == .pending else { return (nil, order.refunds[index]) }
            order.refunds[index].status = status
            order.refunds[index].operatorReference = operatorReference
            order.refunds[index].failure = failure.map { String($0.prefix(200)) }
            order.refunds[index].updatedAt = now
            order.revision += 1
            order.updatedAt = now
            var change = OrderChange(.refundUpdated, at: now)
            change.note = "refund \(refund.id) \(status.rawValue)" + (failure.map { ": " + $0 } ?? "")
            if settings.raisesWebhooks { change.webhook = "refund." + status.rawValue }
            return (change, order.refunds[index])
        }
        guard let (order, current) = updated, let current else { return nil }
        var metadata: Logger.Metadata = [
            "ref": "\(order.ref)", "order": "\(order.key)", "refund": "\(current.id)", "status": "\(current.status.rawValue)", "amount": "\(current.amount)",
        ]
        if let failure = current.failure { metadata["failure"] = "\(failure)" }
        if let reference = current.operatorReference { metadata["operator_reference"] = "\(reference)" }
        logger.info("refund status changed", metadata: metadata)
        return (order, current)
    }
}
