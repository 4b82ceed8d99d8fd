import Foundation
import Payments

/// One webhook event: what happened to an order (`order.paid`, …) and the order as it then was, with how its
/// delivery to each endpoint is going. A file of its own in the outbox, written before anyone sends it.
public struct OutboxEvent: Sendable, Codable, Equatable {
    /// `<order key>-<revision>`: the change that raised it, so recreating it after a crash gives the same id.
    public let id: String
    public let type: String
    public let createdAt: Timestamp
    public let order: Order
    public var deliveries: [Delivery]

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
        self.deliveries = deliveries
    }

    enum CodingKeys: String, CodingKey {
        case id, type
        case createdAt = "created_at"
        case order, deliveries
    }
}

/// The durable outbox of webhook events, under the data folder:
///
///     outbox/pending/<key>-<revision>.json   to send (or being retried)
///     outbox/sent/…                          delivered to every endpoint
///     outbox/failed/…                        given up after the retry period; `cross webhooks retry` revives it
///
/// Events are created by the order store in the same step as the change that raises them (after its journal
/// record, which recovery replays if the event file was lost). Files are replaced whole (temporary file, then
/// rename), so a reader never sees half an event.
public struct Outbox: Sendable {
    public enum Folder: String, Sendable, CaseIterable {
        case pending, sent, failed
    }

    public let directory: String

    public init(directory: String) throws(StoreError) {
        self.directory = directory
        try FileSystem.makeDurableDirectory(directory)
        for folder in Folder.allCases { try FileSystem.makeDurableDirectory(directory + "/" + folder.rawValue) }
    }

    public static func eventID(_ key: OrderKey, revision: Int) -> String {
        let digits = String(revision)
        return key.hex + "-" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    func path(_ id: String, _ folder: Folder) -> String { directory + "/" + folder.rawValue + "/" + id + ".json" }

    /// Where the event is now, if anywhere.
    public func find(_ id: String) -> Folder? {
        Folder.allCases.first { FileSystem.exists(path(id, $0)) }
    }

    /// Adds the event to `pending`, unless it is already somewhere in the outbox.
    func create(_ event: OutboxEvent) throws(StoreError) {
        guard find(event.id) == nil else { return }
        try save(event, in: .pending)
    }

    /// Writes the event into `folder` (replacing its file there) and removes it from every other folder.
    public func save(_ event: OutboxEvent, in folder: Folder) throws(StoreError) {
        let final = path(event.id, folder)
        let temporary = final + ".tmp.\(getpid())"
        let bytes = JSONBytes.encode(event) + [UInt8(ascii: "\n")]
        unlink(temporary)
        try FileSystem.writeNewFile(temporary, bytes, sync: false)
        try FileSystem.rename(temporary, final)
        for other in Folder.allCases where other != folder { unlink(path(event.id, other)) }
    }

    public func load(_ id: String) throws(StoreError) -> (event: OutboxEvent, folder: Folder)? {
        guard let folder = find(id), let bytes = try FileSystem.read(path(id, folder)) else { return nil }
        do {
            return (try JSONDecoder().decode(OutboxEvent.self, from: Data(bytes)), folder)
        } catch {
            throw .damaged(path: path(id, folder), reason: "not a valid event: \(error)")
        }
    }

    /// Event ids in a folder, in order: by order, then by the revision that raised them.
    public func ids(in folder: Folder) -> [String] {
        FileSystem.listDirectory(directory + "/" + folder.rawValue)
            .filter { $0.hasSuffix(".json") }
            .map { String($0.dropLast(5)) }
            .sorted()
    }

    /// Runs `body` holding `outbox/courier.lock` (an exclusive `flock`), so that only one process delivers
    /// events at a time when several share the data folder. Returns false at once, without running `body`,
    /// when another holder has the lock.
    public func withDeliveryLock(_ body: () throws(StoreError) -> Void) throws(StoreError) -> Bool {
        try FileLock.withLockIfFree(directory + "/courier.lock", body) != nil
    }

    /// Every event of one order, in every folder, oldest first.
    public func events(of key: OrderKey) -> [(event: OutboxEvent, folder: Folder)] {
        Folder.allCases.flatMap { folder in
            ids(in: folder).filter { $0.hasPrefix(key.hex + "-") }.compactMap { id in
                (try? load(id)).flatMap { $0 }
            }
        }.sorted { $0.event.id < $1.event.id }
    }
}
