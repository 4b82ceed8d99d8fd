import Foundation
import OrderStorage
import Synchronization
import Payments

/// The durable outbox of webhook events, under the data folder:
///
///     outbox/pending/<key>-<revision>.json   to send (or being retried)
///     outbox/sent/…                          delivered to every endpoint
///     outbox/failed/…                        given up after the retry period; `cross webhooks retry` revives it
///
/// Events are created by the order store in the same step as the change that raises them (after its journal
/// record, which recovery replays if the event file was lost). Files are replaced whole (temporary file, then
/// rename), so a reader never sees half an event. Temporary files are written in `outbox/tmp/`, each under a name
/// of its own (`<id>.<pid>.<n>`): two threads saving one event never share a temporary file, and what a process
/// that is gone left there (killed between the write and the rename) is removed when the outbox is opened.
struct Outbox: WebhookOutbox {
    typealias Folder = OutboxFolder

    let directory: String

    init(directory: String) throws(StoreError) {
        self.directory = directory
        try FileSystem.makeDurableDirectory(directory)
        for folder in Folder.allCases { try FileSystem.makeDurableDirectory(directory + "/" + folder.rawValue) }
        try FileSystem.makeDurableDirectory(scratch)
        for name in FileSystem.listDirectory(scratch) {
            let pid = name.split(separator: ".").dropFirst().first.flatMap { Int32($0) }
            if pid.map({ kill($0, 0) != 0 && errno == ESRCH }) ?? true { unlink(scratch + "/" + name) }
        }
    }

    private var scratch: String { directory + "/tmp" }

    private static let writes = Atomic<Int>(0)

    func path(_ id: String, _ folder: Folder) -> String { directory + "/" + folder.rawValue + "/" + id + ".json" }

    /// Where the event is now, if anywhere.
    public func find(_ id: String) -> Folder? {
        Folder.allCases.first { FileSystem.exists(path(id, $0)) }
    }

    /// Adds the event to `pending`, unless it is already somewhere in the outbox. `sync`: durable before this
    /// returns (an event no journal record can make again).
    func create(_ event: OutboxEvent, sync: Bool = false) throws(StoreError) {
        guard find(event.id) == nil else { return }
        try save(event, in: .pending, sync: sync)
    }

    /// Writes the event into `folder` (replacing its file there) and removes it from every other folder.
    public func save(_ event: OutboxEvent, in folder: Folder) throws(StoreError) {
        try save(event, in: folder, sync: false)
    }

    func save(_ event: OutboxEvent, in folder: Folder, sync: Bool) throws(StoreError) {
        let final = path(event.id, folder)
        let write = Self.writes.add(1, ordering: .relaxed).newValue
        let temporary = scratch + "/" + event.id + ".\(getpid()).\(write)"
        let bytes = JSONBytes.encode(event) + [UInt8(ascii: "\n")]
        try FileSystem.writeNewFile(temporary, bytes, sync: sync)
        try FileSystem.rename(temporary, final)
        if sync { try FileSystem.syncDirectory(directory + "/" + folder.rawValue) }
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
}
