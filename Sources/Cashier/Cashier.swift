import Logging
import OrderStorage
import Payments

/// What Cross does with an order, whoever asks (the merchant's API, a payment button, the shopper's checkout
/// page, an operator's server): create it, start an attempt at paying it, apply what an operator says. Plain
/// code on the payment domain and the store's interface, with an injected clock: the routes only translate HTTP
/// to these calls and back, and tests drive them without a socket.
public struct Cashier: Sendable {
    public struct Settings: Sendable {
        /// What a merchant may leave out of an order, and the rules it must follow.
        public var policy: OrderPolicy
        /// How long an order takes new attempts.
        public var orderLifetimeSeconds: Int64
        /// Whether a change that ends a payment raises a webhook event (not when no endpoint is configured:
        /// there is nobody to tell).
        public var raisesWebhooks: Bool

        public init(policy: OrderPolicy, orderLifetimeSeconds: Int64, raisesWebhooks: Bool) {
            self.policy = policy
            self.orderLifetimeSeconds = orderLifetimeSeconds
            self.raisesWebhooks = raisesWebhooks
        }
    }

    public let store: any OrderStore
    public let settings: Settings
    private let clock: @Sendable () -> Timestamp
    let logger: Logger

    public init(store: any OrderStore, settings: Settings, clock: @escaping @Sendable () -> Timestamp = { .now() }, logger: Logger = Logger(label: "cross")) {
        self.store = store
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    /// The time every decision is taken at.
    public var now: Timestamp { clock() }

    // MARK: - Orders

    /// Validates the request (with `invalid`, the fields its reader already found at fault, so that every problem
    /// is told at once) and creates the order, or finds the one the same request made (idempotent on purchaseref).
    /// Throws `ValidationErrors`, or a `StoreError`.
    public func createOrder(_ fields: OrderFields, invalid: [FieldError] = []) throws -> CreateOutcome {
        var errors = invalid
        var new: NewOrder?
        do {
            new = try fields.validate(settings.policy)
        } catch {
            // A field already reported for its shape is not reported again as missing.
            errors += error.errors.filter { failure in !invalid.contains { $0.field == failure.field } }
        }
        guard errors.isEmpty, let new else { throw ValidationErrors(errors) }
        return try createOrder(new)
    }

    public func createOrder(_ new: NewOrder) throws(StoreError) -> CreateOutcome {
        let now = clock()
        var change = OrderChange(.created, at: now)
        change.to = .pending
        let outcome = try store.create(Order(new, createdAt: now, lifetimeSeconds: settings.orderLifetimeSeconds), change)
        if case .conflict(let existing) = outcome {
            logger.warning("order conflict: this purchaseref exists with other content", metadata: ["ref": "\(existing.ref)", "order": "\(existing.key)"])
        }
        return outcome
    }

    // MARK: - Attempts

    public enum AttemptOutcome: Sendable {
        /// The attempt to send the shopper on with (a new one, or the one another request started meanwhile).
        case ready(Order, Attempt)
        /// The order cannot take an attempt now (paid, in review or expired, perhaps meanwhile): as it is.
        case refused(Order, OrderLifecycle.AttemptRefusal)
        /// The operator gave no session: nothing was changed.
        case unavailable(Order, OperatorFailure)
        /// The order no longer exists.
        case missing
    }

    /// Opens a session at the operator, outside the order's lock (the call may take seconds), then records the
    /// attempt under the lock. With `reuse`, an attempt another request recorded meanwhile that can still be used
    /// is taken instead of the new session.
    public func startRedirectAttempt(_ order: Order, via redirect: any RedirectOperator, reuse: Bool) throws -> AttemptOutcome {
        if let refusal = Self.refusal(order, at: clock()) { return .refused(order, refusal) }
        let session: RedirectSession
        switch redirect.openSession() {
        case .success(let opened):
            session = opened
        case .failure(let failure):
            logger.error("no session from the operator", metadata: [
                "ref": "\(order.ref)", "order": "\(order.key)", "operator": "\(redirect.operator.rawValue)", "cause": "\(failure)",
            ])
            return .unavailable(order, failure)
        }
        let now = clock()
        let attempt = Attempt(
            operator: redirect.operator, method: .redirect, reference: session.reference, issuedAt: now,
            expiresAt: now.adding(seconds: session.lifetimeSeconds))
        enum Result { case started, reused(Attempt), refused(OrderLifecycle.AttemptRefusal) }
        let updated = try store.update(order.key) { (current: inout Order) -> (change: OrderChange?, result: Result) in
            if reuse, let fresh = OrderLifecycle.reusableAttempt(of: current, method: .redirect, at: now) {
                return (nil, .reused(fresh))
            }
            let from = current.status
            do throws(OrderLifecycle.AttemptRefusal) {
                try OrderLifecycle.startAttempt(&current, attempt, at: now)
            } catch {
                return (nil, .refused(error))
            }
            var change = OrderChange(.attemptStarted, at: now)
            change.from = from
            change.to = current.status
            return (change, .started)
        }
        guard let (current, result) = updated else { return .missing }
        switch result {
        case .started:
            logger.info("attempt started", metadata: [
                "ref": "\(current.ref)", "order": "\(current.key)", "operator": "\(attempt.operator.rawValue)",
                "method": "\(attempt.method.rawValue)", "reference": "\(attempt.shownReference)",
                "attempt": "\(current.attempts.count)", "from": "\(order.status.rawValue)",
            ])
            return .ready(current, attempt)
        case .reused(let fresh):
            return .ready(current, fresh)
        case .refused(let refusal):
            return .refused(current, refusal)
        }
    }

    /// Why `order` cannot take a new attempt at `now`, if it cannot.
    public static func refusal(_ order: Order, at now: Timestamp) -> OrderLifecycle.AttemptRefusal? {
        do {
            try OrderLifecycle.checkAttemptAllowed(order, at: now)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Operators' events

    public enum EventOutcome: Sendable {
        case applied(Order, EventEffect)
        /// No order has the purchaseref the event names.
        case unknownOrder
    }

    /// Applies an operator's event to its order through the lifecycle, durably (recorded before this returns,
    /// even when it changes nothing), raising the webhook event of a payment that ended. `remote` and `answer`
    /// are the operator's call, recorded with it.
    public func apply(_ event: PaymentEvent, source: EventSource, remote: String, answer: Int = 200) throws -> EventOutcome {
        let now = clock()
        let updated = try store.update(OrderKey(ref: event.purchaseref)) { (order: inout Order) -> (change: OrderChange?, result: EventEffect?) in
            // The key is a hash prefix: another reference under it is no order of this event's.
            guard order.ref == event.purchaseref else { return (nil, nil) }
            let effect = OrderLifecycle.apply(event, source: source, to: &order, at: now)
            var change = OrderChange(effect == .duplicate ? .eventDuplicate : .eventApplied, at: now)
            change.event = event
            change.remote = remote
            change.answer = answer
            if case .applied(let from, let to, let note) = effect {
                change.from = from
                change.to = to
                change.note = note
                // Merchants hear of every status a payment ends in, durably with the change.
                if from != to && to != .pending && settings.raisesWebhooks { change.webhook = "order." + to.rawValue }
            }
            return (change, effect)
        }
        guard let (order, effect) = updated, let effect else { return .unknownOrder }
        log(event, effect, order)
        return .applied(order, effect)
    }

    private func log(_ event: PaymentEvent, _ effect: EventEffect, _ order: Order) {
        var metadata: Logger.Metadata = [
            "ref": "\(order.ref)", "order": "\(order.key.hex)", "operator": "\(event.operator.rawValue)",
            "outcome": "\(event.outcome.rawValue)", "transaction": "\(event.transactionID)", "amount": "\(event.amount)",
        ]
        if !event.reason.isEmpty { metadata["reason"] = "\(event.reason)" }
        switch effect {
        case .duplicate:
            logger.info("event repeated: no change", metadata: metadata)
        case .applied(let from, let to, let note):
            metadata["from"] = "\(from.rawValue)"
            metadata["to"] = "\(to.rawValue)"
            if let note { metadata["note"] = "\(note)" }
            if to == .review {
                logger.warning("order needs review", metadata: metadata)
            } else {
                logger.info(from == to ? "event recorded" : "order status changed", metadata: metadata)
            }
        }
    }

    /// Records, then logs, a call from an operator's side that reached no order.
    public func refuse(_ call: RefusedCall) throws(StoreError) {
        try store.record(call)
        logger.warning("\(call.channel) refused", metadata: [
            "status": "\(call.answer)", "remote": "\(call.remote)", "reason": "\(call.reason)",
            "ref": "\(call.ref.map { String($0.prefix(250)) } ?? "")",
        ])
    }
}
