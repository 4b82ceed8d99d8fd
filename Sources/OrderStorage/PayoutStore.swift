import Payments

/// Where payouts live: one record per merchant reference, read and changed under the store's lock, each change
/// durable before the call returns (with the webhook event it raises).
public protocol PayoutStore: AnyObject, Sendable {
    func payout(_ reference: String) throws(StoreError) -> Payout?
    /// Creates `payout` unless one with its reference exists (then that one is the answer); `admit` sees every
    /// payout created on the same UTC day and may refuse with a reason (a daily cap), all under the lock, so that
    /// two processes cannot both pass the cap.
    func create(_ payout: Payout, admit: ([Payout]) -> String?) throws(StoreError) -> PayoutCreation
    /// A read-modify-write under the lock. `body` returns whether it changed the payout (its revision moved by
    /// one) and the webhook event to raise; nil when there is no such payout.
    func update<Result>(_ reference: String, _ body: (inout Payout) -> (changed: Bool, webhook: String?, result: Result)) throws(StoreError) -> (payout: Payout, result: Result)?
    /// Every payout, newest first.
    func allPayouts() throws(StoreError) -> [Payout]
}

public enum PayoutCreation: Sendable {
    case created(Payout)
    case existing(Payout)
    case refused(String)
}
