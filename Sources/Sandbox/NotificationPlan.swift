import FastCGI
import Payments
import TMoneyOnline

/// What TMoney will tell a merchant about a finished payment, and how: worked out from the payment alone,
/// before any network call, so that the rules (every parameter, in the spec's order; the scenario's
/// switches) are tested without a server.
public struct NotificationPlan: Sendable, Equatable {
    public let merchantID: String
    public let notification: TMoneyOnline.Notification
    /// The merchant's notification URL with the parameters as its query string.
    public let url: String
    /// How many times it is sent, one after the other: 1, or 2 for `twice`.
    public let copies: Int
    public let delayMilliseconds: Int
    /// Sent before the shopper's browser gets its answer, rather than alongside it.
    public let beforeReturn: Bool

    /// The plan for `transaction`'s outcome; nil when the scenario drops the notification or the payment is
    /// not finished. `account` is the one the shopper authenticated as, if any.
    public static func make(
        for transaction: Transaction, merchant: SandboxConfiguration.Merchant, account: SandboxConfiguration.Account?
    ) -> NotificationPlan? {
        guard let outcome = transaction.outcome, !transaction.scenario.drop else { return nil }
        let order = transaction.order
        let notification = TMoneyOnline.Notification(
            purchaseref: order.purchaseref,
            // A negative amount is no amount at all: 0 is the furthest a test can push a mismatch down.
            amount: max(0, order.amount.francs + transaction.scenario.amountDelta),
            currency: order.currency, status: outcome.kind.status, clientid: account?.clientID ?? "",
            cname: account?.name ?? "", mobile: account.flatMap { PhoneNumber($0.phone)?.international } ?? "",
            paymentref: outcome.paymentref ?? "", payid: transaction.payid, timestamp: String(outcome.at.seconds),
            error: outcome.kind.error)
        let separator = merchant.notificationURL.contains("?") ? "&" : "?"
        return NotificationPlan(
            merchantID: merchant.id, notification: notification,
            url: merchant.notificationURL + separator + URLEncoding.encodeForm(notification.parameters),
            copies: transaction.scenario.twice ? 2 : 1, delayMilliseconds: transaction.scenario.delayMilliseconds,
            beforeReturn: transaction.scenario.beforeReturn)
    }
}
