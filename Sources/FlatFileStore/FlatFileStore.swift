import Foundation
import Logging
import OrderStorage
import Payments
import Support

/// Orders as flat JSON files, one per order, under a data folder:
///
///     orders/3f2/3f2a…c1.json   the order (its key: 32 hex digits of SHA-256 of the purchaseref)
///     orders.lock               one lockable byte per order (an OFD lock), for every read-modify-write
///     journal/segment-….jsonl   every change and every refused call, append-only, fsynced, in segments
///     journal/checkpoint.json   how much of the journal is known to be reflected in the order files
///     journal/segments.json     which segments are closed, which retention removed (see `JournalFolder`)
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
public final class FlatFileStore: OrderStore {
    public let directory: String
    let files: Outbox
    let index: OrderIndex
    let table: IndexListing
    let journal: Journal
    let logger: Logger
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

    /// Free space below which no new order is made and no refused call journaled (0: none kept).
    let reserveBytes: Int64
    public let journalSettings: JournalSettings

    public init(
        directory: String, reserveBytes: Int64 = 0, journal journalSettings: JournalSettings = JournalSettings(),
        logger: Logger = Logger(label: "cross.store")
    ) throws(StoreError) {
        self.directory = directory
        self.reserveBytes = reserveBytes
        self.journalSettings = journalSettings
        self.logger = logger
        try FileSystem.makeDirectory(directory)
        try FileSystem.makeDurableDirectory(directory + "/orders")
        try FileSystem.makeDurableDirectory(directory + "/journal")
        journal = try Journal(directory: directory + "/journal")
        files = try Outbox(directory: directory + "/outbox")
        index = try OrderIndex(directory: directory + "/index")
        table = IndexListing(path: index.path)
    }

    public var outbox: any WebhookOutbox { files }
    public var listing: any OrderListing { table }

    public func onEvent(_ listener: @escaping @Sendable () -> Void) {
        let boxed = EventListener(listener)
        eventListener.withLock { $0 = boxed }
    }

    /// The journal segment being written to now.
    public var journalPath: String { journal.path }

    var journalFolder: JournalFolder { journal.folder }

    public func path(for key: OrderKey) -> String { Self.orderPath(directory, key) }

    static func orderPath(_ directory: String, _ key: OrderKey) -> String {
        directory + "/orders/" + key.hex.prefix(3) + "/" + key.hex + ".json"
    }

    /// The order's byte in `orders.lock`.
    static func lockOffset(_ key: OrderKey) -> Int { Int(key.hex.prefix(12), radix: 16)! }

    private func shard(_ key: OrderKey) -> String { directory + "/orders/" + key.hex.prefix(3) }

    /// Runs `body` holding the order's lock, which every read-modify-write of it takes, in any thread or
    /// process. The lock is one byte of `orders.lock`, at an offset taken from the key: no file is created
    /// per order just to be locked.
    func withOrderLock<Result>(_ key: OrderKey, _ body: () throws -> Result) throws -> Result {
        try FileLock.withByteLock(directory + "/orders.lock", offset: Self.lockOffset(key), body)
    }

    func withOrderLock<Result>(_ key: OrderKey, _ body: () throws(StoreError) -> Result) throws(StoreError) -> Result {
        try FileLock.withByteLock(directory + "/orders.lock", offset: Self.lockOffset(key), body)
    }

    // MARK: - Reading

    /// The order in the live folder, else in the archive (`Archive.swift`).
    public func load(_ key: OrderKey) throws(StoreError) -> Order? {
        if let live = try decode(at: path(for: key)) { return live }
        return try archivedPath(for: key).flatMap { path throws(StoreError) in try decode(at: path) }
    }

    public func load(ref: String) throws(StoreError) -> Order? {
        guard let order = try load(OrderKey(ref: ref)) else { return nil }
        // The key is a hash prefix: the reference inside the file is the proof it is the right order.
        return order.ref == ref ? order : nil
    }

    /// Any change replaces the order's file: a new inode, new times.
    public func changeMarker(of key: OrderKey) -> ChangeMarker? {
        var info = stat()
        guard stat(path(for: key), &info) == 0 else { return nil }
        return ChangeMarker([
            Int64(bitPattern: UInt64(info.st_ino)), Int64(info.st_size),
            Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
            Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec),
        ])
    }

    /// The order file at `path` for a listing: the order, or why it cannot be read; nil when it is gone.
    func read(_ path: String) -> Swift.Result<Order, StoreError>? {
        do {
            return try decode(at: path).map { .success($0) }
        } catch {
            return .failure(error)
        }
    }

    func decode(at path: String) throws(StoreError) -> Order? {
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

    public func create(_ order: Order, _ change: OrderChange) throws(StoreError) -> CreateOutcome {
        try withOrderLock(order.key) { () throws(StoreError) -> CreateOutcome in
            if let existing = try load(order.key) {
                guard existing.ref == order.ref else {
                    throw .unavailable("two purchaserefs share the key \(order.key.hex); this cannot happen with SHA-256")
                }
                return existing.request == order.request ? .existing(existing) : .conflict(existing)
            }
            // The last of the disk is for the orders already made: a payment under way must still be recorded.
            if let free = belowReserve() { throw .reserveReached(freeBytes: free, reserveBytes: reserveBytes) }
            try write(order, record: JournalRecord(change))
            return .created(order)
        }
    }

    public func update<Result>(
        _ key: OrderKey, _ body: (inout Order) throws -> (change: OrderChange?, result: Result)
    ) throws -> (order: Order, result: Result)? {
        try withOrderLock(key) { () throws -> (order: Order, result: Result)? in
            guard var order = try load(key) else { return nil }
            let revision = order.revision
            let (change, result) = try body(&order)
            guard let change else {
                precondition(order.revision == revision, "a change of the order is described")
                return (order, result)
            }
            var record = JournalRecord(change)
            if order.revision != revision {
                precondition(order.revision == revision + 1, "a change moves the revision by exactly one")
                try write(order, record: record)
            } else {
                record.key = order.key
                record.ref = order.ref
                try journal.append(record)
            }
            return (order, result)
        }
    }

    /// A refused call's parameters are kept within bounds, counted in bytes: a refused caller must not be able to
    /// fill the disk.
    static let refusedParameters = 32
    static let refusedNameBytes = 64
    static let refusedValueBytes = 512

    public func record(_ refusal: RefusedCall) throws(StoreError) -> Bool {
        if belowReserve() != nil { return false }
        var record = JournalRecord(at: refusal.at, kind: .callRefused)
        record.channel = refusal.channel
        record.remote = Self.prefix(refusal.remote, bytes: 64)
        record.answer = refusal.answer
        record.reason = Self.prefix(refusal.reason, bytes: 512)
        record.parameters = refusal.parameters.prefix(Self.refusedParameters).map {
            [Self.prefix($0.name, bytes: Self.refusedNameBytes), Self.prefix($0.value, bytes: Self.refusedValueBytes)]
        }
        record.ref = refusal.ref.map { Self.prefix($0, bytes: 1000) }
        try journal.append(record)
        return true
    }

    /// The free bytes of the data folder's filesystem, when they are fewer than the reserve.
    func belowReserve() -> Int64? {
        guard reserveBytes > 0 else { return nil }
        var info = statvfs()
        guard statvfs(directory, &info) == 0 else { return nil }
        let free = Int64(info.f_bavail) * Int64(info.f_frsize)
        return free < reserveBytes ? free : nil
    }

    /// At most `bytes` bytes of `text`, cut where a character starts.
    static func prefix(_ text: String, bytes limit: Int) -> String {
        let utf8 = Array(text.utf8)
        guard utf8.count > limit else { return text }
        var end = limit
        while end > 0 && (utf8[end] & 0xC0) == 0x80 { end -= 1 }
        return String(decoding: utf8[..<end], as: UTF8.self)
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
        let encoded = JSONBytes.encode(order)
        try FileSystem.makeDurableDirectory(shard(order.key))
        let final = path(for: order.key)
        let temporary = final + ".tmp.\(getpid()).\(order.revision)"
        // A file of this name can only be a leftover of a process that died with this pid (a container's PID 1
        // after a restart): this process writes an order under its lock, one change at a time.
        unlink(temporary)
        try FileSystem.writeNewFile(temporary, encoded + [UInt8(ascii: "\n")], sync: false)
        do {
            try journal.append(record, order: encoded)
        } catch {
            unlink(temporary)
            throw error
        }
        try FileSystem.rename(temporary, final)
        // A change to an archived order brings it back: the live file is the order now.
        if let archived = archivedPath(for: order.key) { unlink(archived) }
        if record.kind == .orderCreated {
            logger.info("order created", metadata: ["ref": "\(order.ref)", "order": "\(order.key)", "amount": "\(order.amount)"])
        }
        // The change is made and durable: a failure from here on (a disk that filled up meanwhile) must not be
        // answered as if nothing had changed. Recovery remakes a missing event or index line from the journal.
        do {
            try afterWrite(order, webhook: record.webhook, at: record.at)
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
    func afterWrite(_ order: Order, webhook: String?, at time: Timestamp) throws(StoreError) {
        if let webhook {
            try files.create(OutboxEvent(id: OutboxEvent.id(order.key, revision: order.revision), type: webhook, createdAt: time, order: order))
            tellEventListener()
        }
        try index.append([order])
    }

    // MARK: - Listing

    public func allOrders() -> [Swift.Result<Order, StoreError>] {
        var results: [Swift.Result<Order, StoreError>] = []
        let orders = directory + "/orders"
        for shard in FileSystem.listDirectory(orders).sorted() {
            for file in FileSystem.listDirectory(orders + "/" + shard).sorted() where file.hasSuffix(".json") {
                if let result = read(orders + "/" + shard + "/" + file) { results.append(result) }
            }
        }
        return results
    }

    /// Writes the dashboard's index anew from every order file (`cross index rebuild`); the damaged files are
    /// left out and returned.
    public func rebuildIndex() throws(StoreError) -> (orders: [Order], damaged: [StoreError]) {
        var orders: [Order] = []
        var damaged: [StoreError] = []
        for result in allOrders() + archivedOrders() {
            switch result {
            case .success(let order): orders.append(order)
            case .failure(let error): damaged.append(error)
            }
        }
        try index.rebuild(from: orders)
        return (orders, damaged)
    }
}
