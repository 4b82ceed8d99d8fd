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
    /// Where the event is now, if anywhere.
    func find(_ id: String) -> OutboxFolder?
    func load(_ id: String) throws(StoreError) -> (event: OutboxEvent, folder: OutboxFolder)?
    /// Writes the event into `folder` (replacing it there) and takes it out of every other folder.
    func save(_ event: OutboxEvent, in folder: OutboxFolder) throws(StoreError)
    /// Runs `body` while no other process delivers; false at once, without running it, when another does.
    func withDeliveryLock(_ body: () throws(StoreError) -> Void) throws(StoreError) -> Bool
}
