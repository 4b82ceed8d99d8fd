import FastCGI
import Foundation
import Logging
import Payments

/// Orders as flat JSON files, one per order, under a data folder:
///
///     orders/3f2/3f2a…c1.json   the order (its key: 32 hex digits of SHA-256 of the purchaseref)
///     orders/3f2/3f2a…c1.lock   its lock file (flock), for every read-modify-write
///     journal/journal.jsonl     every change and every notification, append-only, fsynced
///     journal/checkpoint.json   how much of the journal is known to be reflected in the order files
///
/// A change is durable before it is acknowledged: the new order file is written beside the old one and
/// synced, the journal record (with the whole new order) is appended and synced, then the new file replaces
/// the old one by rename and the folder is synced. A crash at any point leaves either the old file or the
/// new one, never a mix; a crash after the journal record and before the rename is repaired at start from the
/// journal. The folders are sharded by the key's first three hex digits, 4096 of them.
public final class OrderStore: Sendable {
    public let directory: String
    private let journal: Journal
    private let logger: Logger

    public init(directory: String, logger: Logger = Logger(label: "cross.store")) throws(StoreError) {
        self.directory = directory
        self.logger = logger
        try FileSystem.makeDirectory(directory)
        try FileSystem.makeDurableDirectory(directory + "/orders")
        try FileSystem.makeDurableDirectory(directory + "/journal")
        journal = try Journal(path: directory + "/journal/journal.jsonl")
    }

    public var journalPath: String { journal.path }

    public func path(for key: OrderKey) -> String { shard(key) + "/" + key.hex + ".json" }

    private func shard(_ key: OrderKey) -> String { directory + "/orders/" + key.hex.prefix(3) }

    /// Where the order's lock lives; its shard folder is made if need be.
    func lockPath(_ key: OrderKey) throws(StoreError) -> String {
        try FileSystem.makeDurableDirectory(shard(key))
        return shard(key) + "/" + key.hex + ".lock"
    }

    private static let fileEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    // MARK: - Reading

    /// The order, or nil if there is none. A file that does not parse is `damaged`, never treated as absent.
    public func load(_ key: OrderKey) throws(StoreError) -> Order? {
        try decode(at: path(for: key))
    }

    public func load(ref: String) throws(StoreError) -> Order? {
        guard let order = try load(OrderKey(ref: ref)) else { return nil }
        // The key is a hash prefix: the reference inside the file is the proof it is the right order.
        return order.ref == ref ? order : nil
    }

    private func decode(at path: String) throws(StoreError) -> Order? {
        guard let bytes = try FileSystem.read(path) else { return nil }
        do {
            return try JSONDecoder().decode(Order.self, from: Data(bytes))
        } catch {
            throw .damaged(path: path, reason: bytes.isEmpty ? "empty file" : "not a valid order: \(Self.brief(error))")
        }
    }

    static func brief(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): context.debugDescription
        case DecodingError.keyNotFound(let key, _): "no \(key.stringValue)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "bad \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: "\(error)"
        }
    }

    // MARK: - Writing

    public enum CreateOutcome: Sendable {
        case created(Order)
        /// The same request again: the order as it is now.
        case existing(Order)
        /// Another order already has this purchaseref.
        case conflict(Order)
    }

    /// Creates the order, or finds the one already made by the same request (idempotent on purchaseref).
    public func create(_ new: NewOrder, at now: Timestamp, lifetimeSeconds: Int64) throws(StoreError) -> CreateOutcome {
        let key = OrderKey(ref: new.ref)
        return try FileLock.withLock(try lockPath(key)) { () throws(StoreError) -> CreateOutcome in
            if let existing = try load(key) {
                guard existing.ref == new.ref else {
                    throw .unavailable("two purchaserefs share the key \(key.hex); this cannot happen with SHA-256")
                }
                return existing.request == new ? .existing(existing) : .conflict(existing)
            }
            let order = Order(new, createdAt: now, lifetimeSeconds: lifetimeSeconds)
            var record = JournalRecord(at: now, kind: .orderCreated)
            record.to = .pending
            try write(order, record: record)
            logger.info("order created", metadata: ["ref": "\(order.ref)", "order": "\(key)", "amount": "\(order.amount)"])
            return .created(order)
        }
    }

    /// A read-modify-write of one order under its lock. `change` edits the order and returns the journal
    /// record describing what happened; if it bumped the order's revision the new order is written, else only
    /// the record is journaled (a duplicate notification, say). Returns the order as it is after, and what
    /// `change` returned.
    public func update<Result>(
        _ key: OrderKey, _ change: (inout Order) throws -> (record: JournalRecord, result: Result)
    ) throws -> (order: Order, result: Result)? {
        try FileLock.withLock(try lockPath(key)) { () throws -> (order: Order, result: Result)? in
            guard var order = try load(key) else { return nil }
            let revision = order.revision
            let (record, result) = try change(&order)
            if order.revision != revision {
                precondition(order.revision == revision + 1, "a change moves the revision by exactly one")
                try write(order, record: record)
            } else {
                try journal.append(record)
            }
            return (order, result)
        }
    }

    /// Journals a notification that never reached an order (refused source, malformed, unknown reference).
    public func journalRefused(_ record: JournalRecord) throws(StoreError) {
        try journal.append(record)
    }

    /// Write-ahead: new file synced beside the old, journal record synced, then rename and folder sync.
    private func write(_ order: Order, record: JournalRecord) throws(StoreError) {
        var record = record
        record.key = order.key
        record.ref = order.ref
        record.revision = order.revision
        record.order = order
        let final = path(for: order.key)
        let temporary = final + ".tmp.\(getpid()).\(order.revision)"
        try FileSystem.writeNewFile(temporary, try encodeFile(order))
        do {
            try journal.append(record)
        } catch {
            unlink(temporary)
            throw error
        }
        try FileSystem.rename(temporary, final)
        try FileSystem.syncDirectory(shard(order.key))
    }

    private func encodeFile(_ order: Order) throws(StoreError) -> [UInt8] {
        do {
            var bytes = Array(try Self.fileEncoder.encode(order))
            bytes.append(UInt8(ascii: "\n"))
            return bytes
        } catch {
            throw .unavailable("cannot encode order \(order.key): \(error)")
        }
    }

    // MARK: - Listing

    /// Every order file, in no particular order; damaged files are returned as such, not skipped.
    public func allOrders() -> [Swift.Result<Order, StoreError>] {
        var results: [Swift.Result<Order, StoreError>] = []
        let orders = directory + "/orders"
        for shard in FileSystem.listDirectory(orders).sorted() {
            for file in FileSystem.listDirectory(orders + "/" + shard).sorted() where file.hasSuffix(".json") {
                let path = orders + "/" + shard + "/" + file
                do {
                    if let order = try decode(at: path) { results.append(.success(order)) }
                } catch {
                    results.append(.failure(error))
                }
            }
        }
        return results
    }
}
