import Payments

/// Where orders live. Everything outside a store reads and changes orders through this protocol alone: use cases
/// load, create and update them (each change described by an `OrderChange`, which the store records as it must),
/// the dashboard lists them, the courier sends their webhook events. The flat-file store (`FlatFileStore`)
/// implements it; a second store (PostgreSQL, say) would implement it again, and no route would change.
public protocol OrderStore: AnyObject, Sendable {
    /// The order, or nil if there is none. An order that cannot be read is `damaged`, never taken as absent.
    func load(_ key: OrderKey) throws(StoreError) -> Order?
    /// The order with this purchaseref (keys are a hash prefix: the reference inside is checked).
    func load(ref: String) throws(StoreError) -> Order?
    /// A value that changes whenever the order does, much cheaper than `load`: a cache of what was made from an
    /// order is good while it stays equal.
    func changeMarker(of key: OrderKey) -> ChangeMarker?

    /// Creates the order, or finds the one already made by the same request (idempotent on purchaseref).
    func create(_ order: Order, _ change: OrderChange) throws(StoreError) -> CreateOutcome
    /// A read-modify-write of one order, holding its lock (across threads and processes). `body` edits the order
    /// and describes what happened; the change is durable before `update` returns. An order whose revision `body`
    /// left alone is not rewritten, and its change only recorded (a duplicate event, say); with no change, nothing
    /// is (`body` moved the revision by exactly one, or not at all). Nil when there is no such order.
    func update<Result>(_ key: OrderKey, _ body: (inout Order) throws -> (change: OrderChange?, result: Result)) throws -> (order: Order, result: Result)?
    /// Records a call from an operator that reached no order (a refused notification), within a byte bound;
    /// false when it was not recorded, to keep the disk's reserve for orders already made.
    @discardableResult func record(_ refusal: RefusedCall) throws(StoreError) -> Bool

    /// Every order, in no particular order; those that cannot be read as such (for the command line).
    func allOrders() -> [Swift.Result<Order, StoreError>]
    /// The dashboard's queries.
    var listing: any OrderListing { get }
    /// The webhook events the changes raised.
    var outbox: any WebhookOutbox { get }
    /// Called after each webhook event is put in the outbox (the courier wakes up rather than waiting).
    func onEvent(_ listener: @escaping @Sendable () -> Void)
}

/// Why a store could not do what it was asked. `unavailable` is the disk's or the database's fault (full,
/// read-only, an I/O error) and means "try again later" (503); `damaged` is an order that cannot be read, which
/// is reported and never overwritten.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case unavailable(String)
    case damaged(path: String, reason: String)
    /// Less free space than the reserve kept for the orders already made: no new order until there is more.
    case reserveReached(freeBytes: Int64, reserveBytes: Int64)

    public var description: String {
        switch self {
        case .unavailable(let reason): "storage unavailable: \(reason)"
        case .reserveReached(let free, let reserve):
            "disk reserve reached: \(free >> 20) MB free, \(reserve >> 20) MB kept for the orders already made (disk_reserve_mb)"
        case .damaged(let path, let reason): "order file \(path) is damaged (\(reason)); it is left as it is for an operator to repair"
        }
    }
}

public enum CreateOutcome: Sendable {
    case created(Order)
    /// The same request again: the order as it is now.
    case existing(Order)
    /// Another order already has this purchaseref.
    case conflict(Order)
}

/// Opaque: equal while an order has not changed.
public struct ChangeMarker: Sendable, Equatable {
    private let parts: [Int64]
    public init(_ parts: [Int64]) { self.parts = parts }
}

/// What a change of an order was, as the store records it (the flat-file store: one journal line).
public struct OrderChange: Sendable {
    public enum Kind: String, Sendable, Codable {
        case created = "order.created"
        case attemptStarted = "attempt.started"
        case eventApplied = "event.applied"
        /// An event already recorded came again: nothing changed, the call is recorded all the same.
        case eventDuplicate = "event.duplicate"
        /// An operator's callback, recorded before its answer and before the status call that confirms it.
        case callbackReceived = "callback.received"
        /// A status call's answer kept on an attempt or a refund, with nothing final in it.
        case attemptChecked = "attempt.checked"
        /// A refund recorded, before its credit is sent.
        case refundRequested = "refund.requested"
        /// A refund's credit sent, answered, or resolved by a status call.
        case refundUpdated = "refund.updated"
    }

    public var kind: Kind
    public var at: Timestamp
    public var from: OrderStatus?
    public var to: OrderStatus?
    /// Why the order went to review, or why an event changed nothing.
    public var note: String?
    /// The operator's event that made the change.
    public var event: PaymentEvent?
    /// Who called (the operator's server), and the HTTP status it was answered.
    public var remote: String?
    public var answer: Int?
    /// The webhook event the change raises (`order.paid`, …), put in the outbox with it.
    public var webhook: String?

    public init(_ kind: Kind, at: Timestamp) {
        self.kind = kind
        self.at = at
    }
}

/// A call from an operator's side that reached no order: from an address not allowed, with parameters that do
/// not parse, for an unknown purchaseref. Kept as evidence, within bounds (see the store).
public struct RefusedCall: Sendable {
    /// Which door it knocked at: `notification`.
    public var channel: String
    public var at: Timestamp
    public var remote: String
    /// The HTTP status it was answered.
    public var answer: Int
    public var reason: String
    /// Its parameters as they came, in order (they may not parse).
    public var parameters: [(name: String, value: String)]
    /// The purchaseref it named, if any.
    public var ref: String?

    public init(channel: String, at: Timestamp, remote: String, answer: Int, reason: String, parameters: [(name: String, value: String)], ref: String?) {
        self.channel = channel
        self.at = at
        self.remote = remote
        self.answer = answer
        self.reason = reason
        self.parameters = parameters
        self.ref = ref
    }
}
