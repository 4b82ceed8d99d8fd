/// What an operator's event did to an order.
public enum EventEffect: Sendable, Equatable {
    /// The same event again: nothing changes, and it gets the same answer as the first time.
    case duplicate
    /// Recorded in the order; the status went `from` → `to` (perhaps the same, for a refusal after payment).
    case applied(from: OrderStatus, to: OrderStatus, note: String?)

    /// The status an order reached, when it changed.
    public var transition: (from: OrderStatus, to: OrderStatus)? {
        if case .applied(let from, let to, _) = self, from != to { return (from, to) }
        return nil
    }
}

/// The order lifecycle, as plain functions of an order and what happens to it, for every operator alike:
///
///     pending ──paid──▶ paid ──paid again, another transaction──▶ review
///        │  ╲──cancelled / declined / expired──▶ cancelled / declined / expired
///        ▲                                                │   │
///        └───────────────── new attempt ──────────────────┘   │
///     cancelled, declined, expired ──late paid──▶ paid   (money taken is never ignored)
///     any amount or currency that differs from the order ──▶ review, never paid
///     paid and review are final: later events are recorded and change nothing.
public enum OrderLifecycle {
    /// `prompted`: the number a push attempt prompted; a payment the operator says came from another number goes
    /// to review (a prompt approved on the wrong phone, or an operator's mix-up), never straight to paid.
    public static func apply(
        _ event: PaymentEvent, source: EventSource, to order: inout Order, at now: Timestamp, prompted: PhoneNumber? = nil
    ) -> EventEffect {
        let identity = event.identity
        if order.events.contains(where: { $0.event.identity == identity }) { return .duplicate }

        let from = order.status
        var to = from
        var note: String?
        var reviewReason: String?
        let payer = PhoneNumber(event.payer.phone)
        if event.amount != order.amount.francs || event.currency != order.currency {
            reviewReason = event.amount != order.amount.francs
                ? "\(event.operator.displayName) says \(event.outcome.rawValue) for \(event.amount) F CFA on an order of \(order.amount.francs) F CFA"
                : "\(event.operator.displayName) says \(event.outcome.rawValue) in currency \(event.currency) on an order in \(order.currency)"
        } else if event.outcome == .paid, let prompted, let payer, payer != prompted {
            reviewReason = "\(event.operator.displayName) says paid from \(payer.displayed), the prompt went to \(prompted.displayed)"
        } else {
            switch (from, event.outcome) {
            case (.review, _):
                note = "recorded: the order is in review"
            case (.paid, .paid):
                if event.transactionID != order.payment?.transactionID || event.operator != order.payment?.operator {
                    reviewReason = "paid twice: \(describe(order.payment)) then \(event.operator.displayName) \(event.transactionID)"
                }
            case (.paid, _):
                note = "recorded: the order is already paid"
            case (_, .paid):
                to = .paid
            case (_, _):
                to = event.status
            }
        }
        if let reviewReason {
            to = .review
            note = reviewReason
            if !order.reviewReasons.contains(reviewReason) { order.reviewReasons.append(reviewReason) }
        }
        if event.outcome == .paid && order.payment == nil {
            order.payment = Payment(event, receivedAt: now)
        }
        order.status = to
        order.events.append(EventRecord(event: event, source: source, receivedAt: now, from: from, to: to, note: note))
        order.updatedAt = now
        order.revision += 1
        return .applied(from: from, to: to, note: note)
    }

    private static func describe(_ payment: Payment?) -> String {
        guard let payment else { return "?" }
        return payment.operator.displayName + " " + payment.transactionID
    }

    public enum AttemptRefusal: Error, Sendable, Equatable {
        case alreadyPaid
        case inReview
        case orderExpired
        /// The order has had `AttemptLimits.perOrder` attempts: its history stays bounded.
        case tooManyAttempts
        /// `AttemptLimits.perMinute` attempts in the last minute: try again in a moment.
        case tooManyAttemptsThisMinute
        /// A prompt waits on the shopper's phone: no other attempt until it ends, or two payments could be made.
        case promptWaiting
    }

    /// The push attempt whose prompt still waits: not ended by an event and not past its lifetime, wherever it is
    /// among the attempts (a redirect attempt started meanwhile does not end it).
    public static func waitingPrompt(of order: Order, at now: Timestamp) -> Attempt? {
        guard let push = order.attempts.last(where: { $0.method == .push }), now < push.expiresAt, !push.isSettled(in: order) else { return nil }
        return push
    }

    /// How many attempts an order may have: each costs the operator a session, and the order's file (and each
    /// journal record of it) grows with them.
    public struct AttemptLimits: Sendable, Equatable {
        public var perOrder: Int
        public var perMinute: Int

        public init(perOrder: Int, perMinute: Int) {
            self.perOrder = perOrder
            self.perMinute = perMinute
        }

        public static let unlimited = AttemptLimits(perOrder: .max, perMinute: .max)
    }

    /// Records a new attempt; a cancelled, declined or expired order is pending again.
    public static func startAttempt(_ order: inout Order, _ attempt: Attempt, at now: Timestamp, limits: AttemptLimits = .unlimited) throws(AttemptRefusal) {
        try checkAttemptAllowed(order, at: now, limits: limits)
        order.attempts.append(attempt)
        order.status = .pending
        order.updatedAt = now
        order.revision += 1
    }

    public static func checkAttemptAllowed(_ order: Order, at now: Timestamp, limits: AttemptLimits = .unlimited) throws(AttemptRefusal) {
        switch order.status {
        case .paid: throw .alreadyPaid
        case .review: throw .inReview
        default: break
        }
        if now >= order.expiresAt { throw .orderExpired }
        if waitingPrompt(of: order, at: now) != nil { throw .promptWaiting }
        if order.attempts.count >= limits.perOrder { throw .tooManyAttempts }
        if order.attempts.filter({ now.seconds - $0.issuedAt.seconds < 60 }).count >= limits.perMinute { throw .tooManyAttemptsThisMinute }
    }

    /// The current attempt of `method`, while it has more than `margin` seconds left and the order is pending: a
    /// shopper who reloads the checkout page keeps it rather than costing a new one.
    public static func reusableAttempt(of order: Order, method: PaymentMethod, at now: Timestamp, margin: Int64 = 30) -> Attempt? {
        guard order.status == .pending, let last = order.attempts.last, last.method == method else { return nil }
        return last.expiresAt.seconds - now.seconds > margin ? last : nil
    }

    /// The current attempt, if it started less than `seconds` ago and can still be used: a second "try again"
    /// (a double click, a replayed post) gets it rather than a new session. Longer than that, the shopper may
    /// have used it at the operator's page, which takes a session once.
    public static func justStartedAttempt(of order: Order, method: PaymentMethod, at now: Timestamp, seconds: Int64 = 15) -> Attempt? {
        guard let attempt = reusableAttempt(of: order, method: method, at: now), now.seconds - attempt.issuedAt.seconds < seconds else { return nil }
        return attempt
    }
}
