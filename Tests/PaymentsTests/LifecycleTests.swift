import Testing
@testable import Payments
import TMoneyOnline

/// Every (state × notification) pair of the order lifecycle.
@Suite struct LifecycleTests {
    enum Incoming: String, CaseIterable, CustomTestStringConvertible {
        case ok, okOtherPayid, cancel, authentication, paymentFailed, expiredSession, unknownError, wrongAmount, wrongCurrency

        var notification: TMoneyOnline.Notification {
            switch self {
            case .ok: Fixtures.ok(payid: "P1")
            case .okOtherPayid: Fixtures.ok(payid: "P2")
            case .cancel: Fixtures.nok("CANCEL")
            case .authentication: Fixtures.nok("AUTHENTICATION")
            case .paymentFailed: Fixtures.nok("PAYMENT_FAILED")
            case .expiredSession: Fixtures.nok("EXPIRED_SESSION")
            case .unknownError: Fixtures.nok("NEW_CODE")
            case .wrongAmount: Fixtures.ok(payid: "P9", amount: 150)
            case .wrongCurrency: Fixtures.ok(payid: "P9", currency: "978")
            }
        }

        var testDescription: String { rawValue }
    }

    /// The status each pair leads to. Paid orders here were paid with payid P1.
    static func expected(_ state: OrderStatus, _ incoming: Incoming) -> OrderStatus {
        switch (state, incoming) {
        case (_, .wrongAmount), (_, .wrongCurrency): .review
        case (.review, _): .review
        case (.paid, .ok): .paid
        case (.paid, .okOtherPayid): .review
        case (.paid, _): .paid
        case (_, .ok), (_, .okOtherPayid): .paid
        case (_, .cancel): .cancelled
        case (_, .authentication), (_, .paymentFailed), (_, .unknownError): .declined
        case (_, .expiredSession): .expired
        }
    }

    @Test(arguments: OrderStatus.allCases, Incoming.allCases)
    func pair(state: OrderStatus, incoming: Incoming) {
        var order = Fixtures.order(status: state, paidWith: state == .paid ? "P1" : nil)
        if state == .paid {
            // A paid order already holds the notification that paid it.
            _ = order.events.append(EventRecord(event: Fixtures.ok(payid: "P1").event, source: .notification, receivedAt: Fixtures.now, from: .pending, to: .paid, note: nil))
        }
        let before = order
        let effect = OrderLifecycle.apply(incoming.notification, to: &order, at: Fixtures.now.adding(seconds: 5))
        let expected = Self.expected(state, incoming)
        if state == .paid && incoming == .ok {
            // The very notification that paid it, again: nothing changes.
            #expect(effect == .duplicate)
            #expect(order == before)
            return
        }
        #expect(order.status == expected, "\(state) + \(incoming)")
        #expect(effect == .applied(from: state, to: expected, note: order.events.last?.note))
        #expect(order.revision == before.revision + 1)
        #expect(order.events.count == before.events.count + 1)
        #expect(order.events.last?.event == incoming.notification.event)
        if expected == .review && state != .review {
            #expect(!order.reviewReasons.isEmpty)
        }
        if incoming == .ok || incoming == .okOtherPayid || incoming == .wrongAmount || incoming == .wrongCurrency {
            #expect(order.payment != nil, "money taken is always recorded")
        }
        if state == .paid {
            #expect(order.payment?.transactionID == "P1", "the first payment stays the order's payment")
        }
    }

    @Test func sameNotificationTwiceChangesNothing() {
        for incoming in Incoming.allCases {
            var order = Fixtures.order()
            _ = OrderLifecycle.apply(incoming.notification, to: &order, at: Fixtures.now)
            let once = order
            #expect(OrderLifecycle.apply(incoming.notification, to: &order, at: Fixtures.now.adding(seconds: 9)) == .duplicate)
            #expect(order == once)
        }
    }

    @Test func lateOKAfterACancelIsPaid() {
        var order = Fixtures.order()
        _ = OrderLifecycle.apply(Fixtures.nok("CANCEL"), to: &order, at: Fixtures.now)
        #expect(order.status == .cancelled)
        _ = OrderLifecycle.apply(Fixtures.ok(), to: &order, at: Fixtures.now)
        #expect(order.status == .paid)
        #expect(order.payment?.transactionID == "P1")
    }

    @Test func mismatchReasonIsKept() {
        var order = Fixtures.order()
        _ = OrderLifecycle.apply(Fixtures.ok(payid: "P1", amount: 1500), to: &order, at: Fixtures.now)
        #expect(order.status == .review)
        #expect(order.reviewReasons == ["TMoney says paid for 1500 F CFA on an order of 15000 F CFA"])
    }

    @Test func newAttemptsReopenFailedOrders() throws {
        for state in [OrderStatus.cancelled, .declined, .expired, .pending] {
            var order = Fixtures.order(status: state)
            try OrderLifecycle.startAttempt(&order, Fixtures.attempt("12345678901234567890123456789012", at: Fixtures.now), at: Fixtures.now)
            #expect(order.status == .pending)
            #expect(order.attempts.count == 1)
            #expect(order.attempts[0].expiresAt == Fixtures.now.adding(seconds: 180))
        }
        for (state, refusal) in [(OrderStatus.paid, OrderLifecycle.AttemptRefusal.alreadyPaid), (.review, .inReview)] {
            var order = Fixtures.order(status: state)
            #expect(throws: refusal) {
                try OrderLifecycle.startAttempt(&order, Fixtures.attempt("12345678901234567890123456789012", at: Fixtures.now), at: Fixtures.now)
            }
        }
        var old = Fixtures.order()
        #expect(throws: OrderLifecycle.AttemptRefusal.orderExpired) {
            try OrderLifecycle.startAttempt(&old, Fixtures.attempt("12345678901234567890123456789012", at: Fixtures.now.adding(seconds: 86_400)), at: Fixtures.now.adding(seconds: 86_400))
        }
    }

    @Test func sessionReusedWhileMoreThan30SecondsLeft() throws {
        var order = Fixtures.order()
        let attempt = Fixtures.attempt()
        try OrderLifecycle.startAttempt(&order, attempt, at: Fixtures.now)
        #expect(OrderLifecycle.reusableAttempt(of: order, method: .redirect, at: Fixtures.now.adding(seconds: 149)) == attempt)
        #expect(OrderLifecycle.reusableAttempt(of: order, method: .redirect, at: Fixtures.now.adding(seconds: 150)) == nil)
        #expect(OrderLifecycle.reusableAttempt(of: order, method: .push, at: Fixtures.now) == nil, "only an attempt of the same way to pay")
        order.status = .cancelled
        #expect(OrderLifecycle.reusableAttempt(of: order, method: .redirect, at: Fixtures.now) == nil, "a failed attempt's session is never reused")
    }
}
