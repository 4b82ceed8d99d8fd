/// What a notification did to an order.
public enum NotificationEffect: Sendable, Equatable {
    /// The same notification again: nothing changes, and it gets the same answer as the first time.
    case duplicate
    /// Recorded in the order; the status went `from` → `to` (perhaps the same, for a refusal after payment).
    case applied(from: OrderStatus, to: OrderStatus, note: String?)

    /// The status an order reached, when it changed.
    public var transition: (from: OrderStatus, to: OrderStatus)? {
        if case .applied(let from, let to, _) = self, from != to { return (from, to) }
        return nil
    }
}

/// The order lifecycle, as plain functions of an order and what happens to it.
///
///     pending ──OK──▶ paid ──second OK, other payid──▶ review
///        │  ╲──NOK CANCEL / AUTHENTICATION, PAYMENT_FAILED / EXPIRED_SESSION──▶ cancelled / declined / expired
///        ▲                                                                            │   │
///        └───────────────────── new attempt ──────────────────────────────────────────┘   │
///     cancelled, declined, expired ──late OK──▶ paid   (money taken is never ignored)     │
///     any amount or currency that differs from the order ──▶ review, never paid ◀─────────┘
///     paid and review are final: later notifications are recorded and change nothing.
public enum OrderLifecycle {
    public static func apply(_ notification: Notification, to order: inout Order, at now: Timestamp) -> NotificationEffect {
        let identity = notification.identity
        if order.notifications.contains(where: { $0.notification.identity == identity }) { return .duplicate }

        let from = order.status
        var to = from
        var note: String?
        var reviewReason: String?
        if notification.amount != order.amount.francs || notification.currency != order.currency {
            reviewReason = notification.amount != order.amount.francs
                ? "\(notification.status.rawValue) notification for \(notification.amount) F CFA on an order of \(order.amount.francs) F CFA"
                : "\(notification.status.rawValue) notification in currency \(notification.currency) on an order in \(order.currency)"
        } else {
            switch (from, notification.status) {
            case (.review, _):
                note = "recorded: the order is in review"
            case (.paid, .ok):
                if notification.payid != order.payment?.payid {
                    reviewReason = "paid twice: payid \(order.payment?.payid ?? "?") then \(notification.payid)"
                }
            case (.paid, .nok):
                note = "recorded: the order is already paid"
            case (_, .ok):
                to = .paid
            case (_, .nok):
                to = notification.outcome
            }
        }
        if let reviewReason {
            to = .review
            note = reviewReason
            if !order.reviewReasons.contains(reviewReason) { order.reviewReasons.append(reviewReason) }
        }
        if notification.status == .ok && order.payment == nil {
            order.payment = Payment(
                payid: notification.payid, paymentref: notification.paymentref, clientid: notification.clientid,
                cname: notification.cname, mobile: notification.mobile, amount: notification.amount,
                currency: notification.currency, timestamp: notification.timestamp, receivedAt: now)
        }
        order.status = to
        order.notifications.append(
            NotificationRecord(notification: notification, receivedAt: now, from: from, to: to, note: note))
        order.updatedAt = now
        order.revision += 1
        return .applied(from: from, to: to, note: note)
    }

    public enum AttemptRefusal: Error, Sendable, Equatable {
        case alreadyPaid
        case inReview
        case orderExpired
    }

    /// Records a new trip to TMoney with a fresh session id; a cancelled, declined or expired order is
    /// pending again.
    public static func startAttempt(_ order: inout Order, sessionID: SessionID, at now: Timestamp, sessionLifetime: Int64) throws(AttemptRefusal) {
        try checkAttemptAllowed(order, at: now)
        order.attempts.append(Attempt(sessionID: sessionID, issuedAt: now, expiresAt: now.adding(seconds: sessionLifetime)))
        order.status = .pending
        order.updatedAt = now
        order.revision += 1
    }

    public static func checkAttemptAllowed(_ order: Order, at now: Timestamp) throws(AttemptRefusal) {
        switch order.status {
        case .paid: throw .alreadyPaid
        case .review: throw .inReview
        default: break
        }
        if now >= order.expiresAt { throw .orderExpired }
    }

    /// The session id of the current attempt, while it has more than `margin` seconds left and the order is
    /// pending: a shopper who reloads the checkout page keeps it rather than costing a new one.
    public static func reusableSession(of order: Order, at now: Timestamp, margin: Int64 = 30) -> Attempt? {
        guard order.status == .pending, let last = order.attempts.last else { return nil }
        return last.expiresAt.seconds - now.seconds > margin ? last : nil
    }
}
