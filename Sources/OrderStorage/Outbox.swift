import Payments

/// One webhook event: what happened to an order (`order.paid`, …) and the order as it then was, with how its
/// delivery to each endpoint is going. Made by the store in the same step as the change that raised it.
public struct OutboxEvent: Sendable, Codable, Equatable {
    /// `<order key>-<revision>`: the change that raised it, so that making it again after a crash gives the same id.
    public let id: String
    public let type: String
    public let createdAt: Timestamp
    /// The order as it then was (`order.…` and `refund.…` events), or
    public let order: Order?
    /// the payout as it then was (`payout.…` events).
    public let payout: Payout?
    public var deliveries: [Delivery]

    /// What the event is about, for the log: the order's purchaseref or the payout's reference.
    public var subject: String { order?.ref ?? payout.map { "payout " + $0.reference } ?? "" }

    public struct Delivery: Sendable, Codable, Equatable {
        public let endpoint: String
        public var attempts: Int
        public var nextAttemptAt: Timestamp
        public var deliveredAt: Timestamp?
        public var lastStatus: Int?
        public var lastError: String?

        public init(endpoint: String, nextAttemptAt: Timestamp) {
            self.endpoint = endpoint
            attempts = 0
            self.nextAttemptAt = nextAttemptAt
        }

        enum CodingKeys: String, CodingKey {
            case endpoint, attempts
            case nextAttemptAt = "next_attempt_at"
            case deliveredAt = "delivered_at"
            case lastStatus = "last_status"
            case lastError = "last_error"
        }
    }

    public init(id: String, type: String, createdAt: Timestamp, order: Order, deliveries: [Delivery] = []) {
        self.id = id
        self.type = type
        self.createdAt = createdAt
        self.order = order
        payout = nil
        self.deliveries = deliveries
    }

    public init(id: String, type: String, createdAt: Timestamp, payout: Payout, deliveries: [Delivery] = []) {
        self.id = id
        self.type = type
        self.createdAt = createdAt
        order = nil
        self.payout = payout
        self.deliveries = deliveries
    }

    /// The id of the event raised by the change that took a payout to `revision`: `payout-<key>-<revision>`.
    public static func id(payout key: OrderKey, revision: Int) -> String { "payout-" + id(key, revision: revision) }

    /// The id of the event raised by the change that took `key` to `revision`.
    public static func id(_ key: OrderKey, revision: Int) -> String {
        let digits = String(revision)
        return key.hex + "-" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    enum CodingKeys: String, CodingKey {
        case id, type
        case createdAt = "created_at"
        case order, payout, deliveries
    }
}

/// Where an event is: to send (or being retried), delivered to every endpoint, or given up after the retry period.
public enum OutboxFolder: String, Sendable, CaseIterable {
    case pending, sent, failed
}

/// The durable outbox of webhook events, as the courier and the tools see it.
public protocol WebhookOutbox: Sendable {
    /// Event ids in a folder, in order: by order, then by the revision that raised them.
    func ids(in folder: OutboxFolder) -> [String]
    /// The pending events, each with a stamp that changes whenever the event is saved again (by anyone): from
    /// one listing, without reading an event, the courier learns which events are new or were changed by another
    /// process (a `cross webhooks retry`, another `cross serve`).
    func pendingStamps() -> [String: OutboxStamp]
    /// Events this process created since the last call (the courier's feed between two listings); a few may be
    /// left out (when nobody asked for a long time): the next listing finds them.
    func takeNewlyCreated() -> [String]
    /// Where the event is now, if anywhere.
    func find(_ id: String) -> OutboxFolder?
    func load(_ id: String) throws(StoreError) -> (event: OutboxEvent, folder: OutboxFolder)?
    /// Writes the event into `folder` (replacing it there) and takes it out of every other folder; returns its
    /// new stamp.
    @discardableResult
    func save(_ event: OutboxEvent, in folder: OutboxFolder) throws(StoreError) -> OutboxStamp
    /// Takes the delivery lock and keeps it until the lease is released (or the process ends): the courier of a
    /// `cross serve` holds it for as long as it delivers. Nil at once when another holder has it.
    func leaseDeliveryLock() throws(StoreError) -> (any OutboxLease)?
    /// Runs `body` while no one else changes an event: every read-change-write of an event that is already in
    /// the outbox (a delivery's outcome, `cross webhooks retry`) takes it, in any thread or process.
    func withEventLock<Result>(_ body: () throws(StoreError) -> Result) throws(StoreError) -> Result
    /// Removes the events filed in `sent` before `cutoff` (by the time of their last delivery; an event filed with
    /// no delivery, by its creation); events in `pending` and `failed` are never removed. Stops early once
    /// `keepGoing` says false (a shutdown).
    func removeSent(filedBefore cutoff: Timestamp, while keepGoing: () -> Bool) -> OutboxSweep
}

/// Changes whenever an event is saved again (the flat-file outbox: the file's inode, since every save is a new
/// file renamed over the old).
public typealias OutboxStamp = UInt64

/// A delivery lock held until `release()`.
public protocol OutboxLease: AnyObject, Sendable {
    func release()
}

/// What a pass of `removeSent` did.
public struct OutboxSweep: Sendable, Equatable {
    /// Sent events removed, and kept (not old enough yet).
    public var removed = 0
    public var kept = 0
    /// Files that could not be read or removed: kept, and named in `problems` (a few).
    public var problems: [String] = []

    public init() {}
}
