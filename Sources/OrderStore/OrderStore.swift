import FastCGI
import Foundation
import Logging
import Payments

/// Orders as flat JSON files, one per order, under a data folder:
///
///     orders/3f2/3f2a…c1.json   the order (its key: 32 hex digits of SHA-256 of the purchaseref)
///     orders.lock               one lockable byte per order (an OFD lock), for every read-modify-write
///     journal/journal.jsonl     every change and every notification, append-only, fsynced
///     journal/checkpoint.json   how much of the journal is known to be reflected in the order files
///     outbox/…                  webhook events to send (see `Outbox`)
///     index/orders.tsv          a compact line per order change, for the dashboard (see `OrderIndex`)
///
/// A change is durable before it is acknowledged, through the journal: the new order file is written beside
/// the old one, the journal record (carrying the whole new order) is appended and synced — appenders that
/// arrive together share one sync — then the new file replaces the old one by rename. A crash leaves either
/// the old file or the new one, never a mix. The order files themselves are synced in batches by the
/// checkpoint (`recover()`, at start and every minute): until then, the journal is what a power cut cannot
/// take, and recovery rewrites from it any order file that is missing, damaged or behind. The folders are
/// sharded by the key's first three hex digits, 4096 of them.
public final class OrderStore: Sendable {
    public let directory: String
    public let outbox: Outbox
    public let index: OrderIndex
    private let journal: Journal
    private let logger: Logger
    /// Boxed: a closure kept directly in a generic lock's `inout` value comes back wrapped in a new thunk each
    /// time it is read and written back, until calling it overflows the stack.
    private let eventListener = Lock<EventListener?>(nil)
    /// Set when a change's webhook event or index line failed and not even its `unfinished` record could be
    /// journaled: this process's next checkpoint is then a thorough one.
    let owesThoroughPass = Lock<Bool>(false)

    private final class EventListener: Sendable {
        let call: @Sendable () -> Void
        init(_ call: @escaping @Sendable () -> Void) { self.call = call }
    }

    public init(directory: String, logger: Logger = Logger(label: "cross.store")) throws(StoreError) {
        self.directory = directory
        self.logger = logger
        try FileSystem.makeDirectory(directory)
        try FileSystem.makeDurableDirectory(directory + "/orders")
        try FileSystem.makeDurableDirectory(directory + "/journal")
        journal = try Journal(path: directory + "/journal/journal.jsonl")
        outbox = try Outbox(directory: directory + "/outbox")
        index = try OrderIndex(directory: directory + "/index")
    }

    /// Called after each webhook event is put in the outbox (the courier wakes up rather than waiting).
    public func onEvent(_ listener: @escaping @Sendable () -> Void) {
        let boxed = EventListener(listener)
        eventListener.withLock { $0 = boxed }
    }

    public var journalPath: String { journal.path }

    public func path(for key: OrderKey) -> String { shard(key) + "/" + key.hex + ".json" }

    private func shard(_ key: OrderKey) -> String { directory + "/orders/" + key.hex.prefix(3) }

    /// Runs `body` holding the order's lock, which every read-modify-write of it takes, in any thread or
    /// process. The lock is one byte of `orders.lock`, at an offset taken from the key: no file is created
    /// per order just to be locked.
    func withOrderLock<Result>(_ key: OrderKey, _ body: () throws -> Result) throws -> Result {
        try FileLock.withByteLock(directory + "/orders.lock", offset: Int(key.hex.prefix(12), radix: 16)!, body)
    }

    func withOrderLock<Result>(_ key: OrderKey, _ body: () throws(StoreError) -> Result) throws(StoreError) -> Result {
        try FileLock.withByteLock(directory + "/orders.lock", offset: Int(key.hex.prefix(12), radix: 16)!, body)
    }

    // MARK: - Reading

    /// The order, or nil if there is none. A file that does not parse is `damaged`, never treated as absent.
    public func load(_ key: OrderKey) throws(StoreError) -> Order? {
        try decode(at: path(for: key))
    }

    /// What identifies the present content of an order's file, without reading it: any change replaces the
    /// file (a new inode, new times). Lets a reader keep what it made from a file until the file changes.
    public struct FileVersion: Sendable, Equatable {
        let inode: UInt64
        let size: Int64
        let modified: Int64
        let changed: Int64
    }

    public func version(of key: OrderKey) -> FileVersion? {
        Self.version(atPath: path(for: key))
    }

    /// The same, for a path kept from `path(for:)` (a reader that checks often saves building it each time).
    public static func version(atPath path: String) -> FileVersion? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileVersion(
            inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
            changed: Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec))
    }

    public func load(ref: String) throws(StoreError) -> Order? {
        guard let order = try load(OrderKey(ref: ref)) else { return nil }
        // The key is a hash prefix: the reference inside the file is the proof it is the right order.
        return order.ref == ref ? order : nil
    }

    private func decode(at path: String) throws(StoreError) -> Order? {
        guard let bytes = try FileSystem.read(path) else { return nil }
        return try decode(bytes, path: path)
    }

    /// An order file's bytes, already read, as an order; `path` names it in the error.
    func decode(_ bytes: [UInt8], path: String) throws(StoreError) -> Order {
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
        return try withOrderLock(key) { () throws(StoreError) -> CreateOutcome in
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
        try withOrderLock(key) { () throws -> (order: Order, result: Result)? in
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

    /// Write-ahead: the new file beside the old (a full disk fails here, before anything is journaled), the
    /// journal record synced, then the rename; then the change's webhook event and index line, which recovery
    /// remakes from the journal if a crash (or a failure to write them) came first.
    private func write(_ order: Order, record: JournalRecord) throws(StoreError) {
        var record = record
        record.key = order.key
        record.ref = order.ref
        record.revision = order.revision
        record.pid = Self.processID
        let encoded = Self.encode(order)
        try FileSystem.makeDurableDirectory(shard(order.key))
        let final = path(for: order.key)
        let temporary = final + ".tmp.\(getpid()).\(order.revision)"
        try FileSystem.writeNewFile(temporary, encoded + [UInt8(ascii: "\n")], sync: false)
        do {
            try journal.append(record, order: encoded)
        } catch {
            unlink(temporary)
            throw error
        }
        try FileSystem.rename(temporary, final)
        // The change is made and durable: a failure from here on (a disk that filled up meanwhile) must not be
        // answered as if nothing had changed. Recovery remakes a missing event or index line from the journal.
        do {
            try afterWrite(order, event: record.event, at: record.at)
        } catch {
            // Said in the journal too: the checkpoint trusts a live writer's changes to be complete, except these.
            record.unfinished = true
            let noted = (try? journal.append(record, order: encoded)) != nil
            if !noted { owesThoroughPass.withLock { $0 = true } }
            logger.error("change saved, but its webhook event or index line was not; the next recovery makes them", metadata: [
                "ref": "\(order.ref)", "order": "\(order.key)", "revision": "\(order.revision)", "error": "\(error)",
                "journaled": "\(noted ? "yes" : "no")",
            ])
        }
    }

    static let processID = getpid()

    func tellEventListener() {
        eventListener.withLock { $0 }?.call()
    }

    /// The outbox event and the index line of a change that is already durable in the journal.
    func afterWrite(_ order: Order, event: String?, at time: Timestamp) throws(StoreError) {
        if let event {
            try outbox.create(OutboxEvent(id: Outbox.eventID(order.key, revision: order.revision), type: event, createdAt: time, order: order))
            tellEventListener()
        }
        try index.append([order])
    }

    /// An order as one line of JSON: the same bytes go into its file and into the journal record.
    static func encode(_ order: Order) -> [UInt8] {
        JSONBytes.encode(order)
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
