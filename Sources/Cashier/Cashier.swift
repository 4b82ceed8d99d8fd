import Logging
import OrderStorage
import Payments
import Support

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
        /// How many attempts an order may have, in all and per minute.
        public var attemptLimits: OrderLifecycle.AttemptLimits
        /// How many requests may wait on an operator for a session at once.
        public var operatorCallsAtOnce: Int
        /// Orders payment buttons without a reference of their own may make per minute, in all.
        public var buttonOrdersPerMinute: Int
        /// When open push attempts and refunds are asked about.
        public var reconciliation: ReconciliationSchedule
        /// Caps on payouts.
        public var payoutLimits: PayoutLimits

        public init(
            policy: OrderPolicy, orderLifetimeSeconds: Int64, raisesWebhooks: Bool, attemptLimits: OrderLifecycle.AttemptLimits = .unlimited,
            operatorCallsAtOnce: Int = 4, buttonOrdersPerMinute: Int = 60, reconciliation: ReconciliationSchedule = ReconciliationSchedule(),
            payoutLimits: PayoutLimits = PayoutLimits(perPayout: 500_000, perDay: 2_000_000)
        ) {
            self.policy = policy
            self.orderLifetimeSeconds = orderLifetimeSeconds
            self.raisesWebhooks = raisesWebhooks
            self.attemptLimits = attemptLimits
            self.operatorCallsAtOnce = operatorCallsAtOnce
            self.buttonOrdersPerMinute = buttonOrdersPerMinute
            self.reconciliation = reconciliation
            self.payoutLimits = payoutLimits
        }
    }

    public let store: any OrderStore
    /// Where payouts live (the flat-file store is both); nil: no payouts.
    public let payouts: (any PayoutStore)?
    public let settings: Settings
    let clock: @Sendable () -> Timestamp
    let logger: Logger
    /// Requests waiting on an operator: the others answer "busy" at once.
    let operatorCalls: Slots
    /// Callbacks waiting on their status call, apart from the shoppers' requests: a burst of checkouts never
    /// leaves a callback unconfirmed, nor the reverse (one left without a place is reconciliation's).
    let confirmationCalls: Slots
    let buttonOrders: MinuteLimit
    /// Calls refused for their address: counted, one log line a minute per address.
    public let refusedSources = SourceCounter()
    /// Orders this process knows have open work (a push attempt without a confirmed result, a pending refund):
    /// reconciliation looks at them at every pass whatever their status; a thorough pass finds those of other
    /// processes, or from before a crash.
    let openWork = Lock<Set<OrderKey>>([])

    public init(store: any OrderStore, settings: Settings, clock: @escaping @Sendable () -> Timestamp = { .now() }, logger: Logger = Logger(label: "cross")) {
        self.store = store
        payouts = store as? any PayoutStore
        self.settings = settings
        self.clock = clock
        self.logger = logger
        operatorCalls = Slots(settings.operatorCallsAtOnce)
        confirmationCalls = Slots(settings.operatorCallsAtOnce)
        buttonOrders = MinuteLimit(settings.buttonOrdersPerMinute)
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

    /// Too many orders from payment buttons without a reference of their own this minute.
    public struct TooManyButtonOrders: Error, Sendable {}

    /// An order from a payment button that leaves its reference to Cross: made only when the shopper starts
    /// paying, and no more than `buttonOrdersPerMinute` a minute in all, so that posting a button in a loop
    /// cannot fill the disk. Throws `TooManyButtonOrders`, or a `StoreError`.
    public func createButtonOrder(_ new: NewOrder) throws -> CreateOutcome {
        if try store.load(ref: new.ref) == nil {
            guard buttonOrders.allow(at: clock().seconds) else {
                logger.warning("payment button refused: too many orders this minute", metadata: ["limit": "\(settings.buttonOrdersPerMinute)"])
                throw TooManyButtonOrders()
            }
        }
        return try createOrder(new)
    }

    public func createOrder(_ new: NewOrder) throws(StoreError) -> CreateOutcome {
        let now = clock()
        var change = OrderChange(.created, at: now)
        change.to = .pending
        let outcome = try store.create(Order(new, createdAt: now, lifetimeSeconds: settings.orderLifetimeSeconds), change)
        if case .created = outcome { Self.countStatusChange(from: "none", to: OrderStatus.pending.rawValue) }
        if case .conflict(let existing) = outcome {
            logger.warning("order conflict: this purchaseref exists with other content", metadata: ["ref": "\(existing.ref)", "order": "\(existing.key)"])
        }
        return outcome
    }

    // MARK: - Attempts

    public enum AttemptOutcome: Sendable {
        /// The attempt to send the shopper on with (a new one, or one that can still be used).
        case ready(Order, Attempt)
        /// The order cannot take an attempt now (paid, in review, expired, too many attempts): as it is.
        case refused(Order, OrderLifecycle.AttemptRefusal)
        /// The operator gave no session: nothing was changed.
        case unavailable(Order, OperatorFailure)
        /// Every place for a call to the operator is taken (it is slow or hangs): nothing was asked, try again.
        case busy(Order)
        /// The order no longer exists.
        case missing
    }

    /// Which existing attempt a new one gives way to.
    public enum Reuse: Sendable {
        /// Any that can still be used (a reload of the checkout page).
        case usable
        /// Only one started moments ago (a second "try again": a double click, a replayed post).
        case justStarted
    }

    /// Opens a session at the operator, outside the order's lock (the call may take seconds, and only
    /// `operatorCallsAtOnce` requests wait on it at once), then records the attempt under the lock, within the
    /// order's attempt limits. An attempt that `reuse` allows, found before or meanwhile, is taken instead.
    public func startRedirectAttempt(_ order: Order, via redirect: any RedirectOperator, reuse: Reuse) throws -> AttemptOutcome {
        if let current = reusable(order, reuse, at: clock()) { return .ready(order, current) }
        if let refusal = Self.refusal(order, at: clock(), limits: settings.attemptLimits) { return .refused(order, refusal) }
        guard let opened = operatorCalls.ifFree({ redirect.openSession() }) else {
            logger.warning("operator busy: every place for a session request is taken", metadata: [
                "ref": "\(order.ref)", "order": "\(order.key)", "operator": "\(redirect.operator.rawValue)", "places": "\(operatorCalls.capacity)",
            ])
            return .busy(order)
        }
        let session: RedirectSession
        switch opened {
        case .success(let value):
            session = value
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
        let updated = try update(order.key) { (current: inout Order) -> (change: OrderChange?, result: Result) in
            if let fresh = reusable(current, reuse, at: now) { return (nil, .reused(fresh)) }
            switch record(attempt, in: &current, at: now) {
            case .success(let change): return (change, .started)
            case .failure(let refusal): return (nil, .refused(refusal))
            }
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

    /// Adds `attempt` to `order` within the attempt limits (under the order's lock): the change to record, or why not.
    func record(_ attempt: Attempt, in order: inout Order, at now: Timestamp) -> Swift.Result<OrderChange, OrderLifecycle.AttemptRefusal> {
        let from = order.status
        do throws(OrderLifecycle.AttemptRefusal) {
            try OrderLifecycle.startAttempt(&order, attempt, at: now, limits: settings.attemptLimits)
        } catch {
            return .failure(error)
        }
        var change = OrderChange(.attemptStarted, at: now)
        change.from = from
        change.to = order.status
        return .success(change)
    }

    private func reusable(_ order: Order, _ reuse: Reuse, at now: Timestamp) -> Attempt? {
        switch reuse {
        case .usable: OrderLifecycle.reusableAttempt(of: order, method: .redirect, at: now)
        case .justStarted: OrderLifecycle.justStartedAttempt(of: order, method: .redirect, at: now)
        }
    }

    /// Why `order` cannot take a new attempt at `now`, if it cannot.
    public static func refusal(_ order: Order, at now: Timestamp, limits: OrderLifecycle.AttemptLimits = .unlimited) -> OrderLifecycle.AttemptRefusal? {
        do {
            try OrderLifecycle.checkAttemptAllowed(order, at: now, limits: limits)
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
        let updated = try update(OrderKey(ref: event.purchaseref)) { (order: inout Order) -> (change: OrderChange?, result: EventEffect?) in
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

    /// Records, then logs, a call from an operator's side that reached no order. Below the disk's reserve it is
    /// logged only, and the line says so.
    public func refuse(_ call: RefusedCall) throws(StoreError) {
        let recorded = try store.record(call)
        var metadata: Logger.Metadata = [
            "status": "\(call.answer)", "remote": "\(call.remote)", "reason": "\(call.reason)",
            "ref": "\(call.ref.map { String($0.prefix(250)) } ?? "")",
        ]
        if !recorded { metadata["journaled"] = "no (disk reserve)" }
        logger.warning("\(call.channel) refused", metadata: metadata)
    }

    /// A call refused for its address alone (not an operator's): counted, never journaled, and logged at most
    /// once a minute per address with how many came, so that a stranger cannot fill the disk or the log.
    public func refuseSource(_ remote: String, channel: String) {
        if let report = refusedSources.note(remote, at: clock().seconds) { logRefusedSource(report, channel: channel) }
    }

    /// The counts not logged yet, a minute after each address's last line (a background job calls this).
    public func reportRefusedSources(channel: String) {
        for report in refusedSources.due(at: clock().seconds) { logRefusedSource(report, channel: channel) }
    }

    private func logRefusedSource(_ report: SourceCounter.Report, channel: String) {
        logger.warning("\(channel) refused: source address not allowed", metadata: [
            "remote": "\(report.source)", "count": "\(report.count)", "status": "403",
        ])
    }
}
