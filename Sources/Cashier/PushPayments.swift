import Logging
import OrderStorage
import Payments
import Support

/// Paying from the phone: the debit request, the operator's callback, and the status calls that alone make an
/// order paid.
extension Cashier {
    public enum PushOutcome: Sendable {
        /// The operator took the request: the shopper's phone shows the prompt.
        case requested(Order, Attempt)
        /// A prompt for this number is already waiting (a double click, a reload): nothing was sent.
        case waiting(Order, Attempt)
        /// A prompt for another number is still waiting: it must end first, or two payments could be approved.
        case otherNumberWaiting(Order, Attempt)
        /// The operator refused the request at once (unknown or blocked number): the attempt is declined.
        case refusedByOperator(Order, Attempt, code: String)
        /// Sent, but the answer did not come: the prompt may be on its way; reconciliation will tell.
        case unanswered(Order, Attempt, OperatorFailure)
        case refused(Order, OrderLifecycle.AttemptRefusal)
        /// Every place for a call to the operator is taken: nothing was recorded or sent, try again.
        case busy(Order)
        case missing
    }

    /// The push attempt whose prompt still waits (`OrderLifecycle.waitingPrompt`).
    public static func waitingPush(_ order: Order, at now: Timestamp) -> Attempt? {
        OrderLifecycle.waitingPrompt(of: order, at: now)
    }

    /// Records a push attempt (durably, before anything is sent) and asks the operator for the prompt. One
    /// prompt at a time per order: a second request for the same number while one waits sends nothing.
    public func startPushAttempt(_ order: Order, phone: PhoneNumber, via push: any PushOperator) throws -> PushOutcome {
        let now = clock()
        if let waiting = Self.waitingPush(order, at: now) {
            return waiting.phone == phone ? .waiting(order, waiting) : .otherNumberWaiting(order, waiting)
        }
        if let refusal = Self.refusal(order, at: now, limits: settings.attemptLimits) { return .refused(order, refusal) }
        let attempt = Attempt(
            operator: push.operator, method: .push, reference: PushReference.make(for: order.key, random: SecureRandom.hex(bytes: 5)),
            issuedAt: now, expiresAt: now.adding(seconds: push.promptLifetimeSeconds), phone: phone)
        let outcome = try operatorCalls.ifFree { () throws -> PushOutcome in
            enum Recorded { case started, waiting(Attempt), refused(OrderLifecycle.AttemptRefusal) }
            let updated = try update(order.key) { (current: inout Order) -> (change: OrderChange?, result: Recorded) in
                if let waiting = Self.waitingPush(current, at: now) { return (nil, .waiting(waiting)) }
                switch record(attempt, in: &current, at: now) {
                case .success(let change): return (change, .started)
                case .failure(let refusal): return (nil, .refused(refusal))
                }
            }
            guard let (current, recorded) = updated else { return .missing }
            switch recorded {
            case .waiting(let waiting):
                return waiting.phone == phone ? .waiting(current, waiting) : .otherNumberWaiting(current, waiting)
            case .refused(let refusal):
                return .refused(current, refusal)
            case .started:
                break
            }
            openWork.withLock { _ = $0.insert(current.key) }
            logger.info("attempt started", metadata: [
                "ref": "\(current.ref)", "order": "\(current.key)", "operator": "\(attempt.operator.rawValue)", "method": "push",
                "reference": "\(attempt.reference)", "phone": "\(phone.international)", "attempt": "\(current.attempts.count)",
                "from": "\(order.status.rawValue)",
            ])
            let request = OperatorRequest(
                reference: attempt.reference, phone: phone, amount: current.amount.francs, label: String(current.ref.prefix(50)),
                description: String((current.details.description ?? current.brand).prefix(100)), requestedAt: now)
            switch push.requestDebit(request) {
            case .success:
                logger.info("push debit requested", metadata: ["ref": "\(current.ref)", "reference": "\(attempt.reference)"])
                return .requested(current, attempt)
            case .failure(.refused(let code)):
                let event = RequestStatus.failed(code: code, message: "").event(for: attempt, of: current, at: now, expiredAt: attempt.expiresAt)!
                if case .applied(let after, _) = try apply(event, source: .request, remote: "operator") { return .refusedByOperator(after, attempt, code: code) }
                return .refusedByOperator(current, attempt, code: code)
            case .failure(let failure):
                logger.error("push debit unanswered: reconciliation will ask the operator", metadata: [
                    "ref": "\(current.ref)", "reference": "\(attempt.reference)", "cause": "\(failure)",
                ])
                return .unanswered(current, attempt, failure)
            }
        }
        guard let outcome else {
            logger.warning("operator busy: every place for a call is taken", metadata: [
                "ref": "\(order.ref)", "order": "\(order.key)", "operator": "\(push.operator.rawValue)", "places": "\(operatorCalls.capacity)",
            ])
            return .busy(order)
        }
        return outcome
    }

    // MARK: - Callbacks and status calls

    public enum CheckOutcome: Sendable, Equatable {
        /// The status call's answer was applied: an event (`effect`) or, with nothing final, the attempt's last check.
        case checked(RequestStatus, EventEffect?)
        /// The status call gave nothing (timeout, 5xx): recorded as the attempt's last check.
        case failed(OperatorFailure)
        /// No order has an attempt with this reference.
        case unknownAttempt
    }

    /// An operator's callback for the push attempt `reference`: recorded before anything else (and before its
    /// answer), then confirmed with the operator's status call, which alone decides. `claimed` is only logged.
    /// When the status call fails, the callback stays recorded and reconciliation asks again.
    public func receiveCallback(reference: String, claimed: RequestStatus, via push: any PushOperator, remote: String) throws -> CheckOutcome {
        guard let key = PushReference.orderKey(of: reference) else { return .unknownAttempt }
        let now = clock()
        let recorded = try update(key) { (order: inout Order) -> (change: OrderChange?, result: Bool) in
            guard order.attempts.contains(where: { $0.reference == reference && $0.method == .push && $0.operator == push.operator }) else {
                return (nil, false)
            }
            var change = OrderChange(.callbackReceived, at: now)
            change.remote = remote
            change.answer = 200
            change.note = "callback for \(reference) claims \(Self.describe(claimed)); confirming with the operator"
            return (change, true)
        }
        guard let (order, known) = recorded, known else { return .unknownAttempt }
        openWork.withLock { _ = $0.insert(key) }
        logger.info("callback received", metadata: [
            "ref": "\(order.ref)", "order": "\(order.key)", "reference": "\(reference)", "claims": "\(Self.describe(claimed))", "remote": "\(remote)",
        ])
        // The status call waits on the operator: within the places for such calls, or left to reconciliation.
        guard let checked = try confirmationCalls.ifFree({ try check(key, reference: reference, via: push, source: .callback) }) else {
            logger.warning("callback recorded; its status call is left to reconciliation: every place for a call is taken", metadata: [
                "ref": "\(order.ref)", "reference": "\(reference)",
            ])
            return .failed(.timeout)
        }
        return checked
    }

    /// Asks the operator where the push attempt `reference` stands and applies the answer: an event through the
    /// lifecycle when it is final, else the attempt's last check.
    public func check(_ key: OrderKey, reference: String, via push: any PushOperator, source: EventSource) throws -> CheckOutcome {
        let answer = push.status(ofRequest: reference)
        let now = clock()
        let updated = try update(key) { (order: inout Order) -> (change: OrderChange?, result: CheckOutcome) in
            guard let index = order.attempts.firstIndex(where: { $0.reference == reference && $0.method == .push }) else {
                return (nil, .unknownAttempt)
            }
            let attempt = order.attempts[index]
            let count = (attempt.lastCheck?.count ?? 0) + 1
            let status: RequestStatus
            switch answer {
            case .failure(let failure):
                order.attempts[index].lastCheck = AttemptCheck(at: now, result: Self.describe(failure), count: count)
                order.revision += 1
                order.updatedAt = now
                var change = OrderChange(.attemptChecked, at: now)
                change.note = "status call for \(reference) failed: \(failure)"
                return (change, .failed(failure))
            case .success(let value):
                status = value
            }
            order.attempts[index].lastCheck = AttemptCheck(at: now, result: Self.describe(status), count: count)
            let expiredAt = attempt.expiresAt.adding(seconds: settings.reconciliation.graceSeconds)
            // An attempt already ended changes only for money taken (a late success is never ignored).
            let settled = attempt.isSettled(in: order)
            if let event = status.event(for: order.attempts[index], of: order, at: now, expiredAt: expiredAt), !settled || event.outcome == .paid {
                let effect = OrderLifecycle.apply(event, source: source, to: &order, at: now, prompted: attempt.phone)
                var change = OrderChange(effect == .duplicate ? .eventDuplicate : .eventApplied, at: now)
                change.event = event
                change.remote = "status call"
                if case .applied(let from, let to, let note) = effect {
                    change.from = from
                    change.to = to
                    change.note = note
                    if from != to && to != .pending && settings.raisesWebhooks { change.webhook = "order." + to.rawValue }
                }
                return (change, .checked(status, effect))
            }
            order.revision += 1
            order.updatedAt = now
            var change = OrderChange(.attemptChecked, at: now)
            change.note = "\(reference): \(Self.describe(status))"
            return (change, .checked(status, nil))
        }
        guard let (order, outcome) = updated else { return .unknownAttempt }
        var metadata: Logger.Metadata = ["ref": "\(order.ref)", "order": "\(order.key)", "reference": "\(reference)", "source": "\(source.rawValue)"]
        switch outcome {
        case .checked(let status, let effect):
            metadata["status"] = "\(Self.describe(status))"
            if case .applied(let from, let to, let note)? = effect {
                metadata["from"] = "\(from.rawValue)"
                metadata["to"] = "\(to.rawValue)"
                if let note { metadata["note"] = "\(note)" }
                if to == .review { logger.warning("order needs review", metadata: metadata) } else {
                    logger.info(from == to ? "status call recorded" : "order status changed", metadata: metadata)
                }
            } else {
                logger.info("status call: nothing final yet", metadata: metadata)
            }
        case .failed(let failure):
            metadata["cause"] = "\(failure)"
            logger.warning("status call failed", metadata: metadata)
        case .unknownAttempt:
            break
        }
        return outcome
    }

    static func describe(_ status: RequestStatus) -> String {
        switch status {
        case .unknown: "unknown"
        case .pending: "pending"
        case .succeeded(let transaction): "succeeded \(transaction.reference) \(transaction.amount) F"
        case .failed(let code, let message): "failed \(code) \(message)".trimmingCharacters(in: .whitespaces)
        }
    }

    static func describe(_ failure: OperatorFailure) -> String {
        switch failure {
        case .timeout: "timeout"
        case .httpStatus(let status): "http \(status)"
        case .refused(let code): "refused \(code)"
        case .unrecognized: "unrecognized answer"
        case .transport: "unreachable"
        }
    }
}
