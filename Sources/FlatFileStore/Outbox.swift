import Foundation
import OrderStorage
import Synchronization
import Payments
import Support

/// The durable outbox of webhook events, under the data folder:
///
///     outbox/pending/<key>-<revision>.json        to send (or being retried)
///     outbox/sent/<shard>/<key>-<revision>.json   delivered to every endpoint; removed after the retention
///     outbox/failed/…                             given up after the retry period; `cross webhooks retry` revives it
///     outbox/courier.lock                         held by the process that delivers
///     outbox/events.lock                          held while an event already in the outbox is changed
///
/// Events are created by the order store in the same step as the change that raises them (after its journal
/// record, which recovery replays if the event file was lost). Files are replaced whole (temporary file, then
/// rename), so a reader never sees half an event. Temporary files are written in `outbox/tmp/`, each under a name
/// of its own (`<id>.<pid>.<n>`): two threads saving one event never share a temporary file, and what a process
/// that is gone left there (killed between the write and the rename) is removed when the outbox is opened.
///
/// `sent` is sharded like `orders/`, by the first three hex digits of the order's key (of the payout's, for a
/// `payout-…` event): a year of events is not one folder of millions of files. `pending` stays flat: it holds at
/// most `webhook_give_up_hours` of events. An earlier version's flat `sent/<id>.json` is still found where it is,
/// and moved into its shard by the next `removeSent` pass.
struct Outbox: WebhookOutbox {
    typealias Folder = OutboxFolder

    let directory: String
    private let created = CreatedFeed()
    /// `sent/removed-before`: the latest cutoff of `removeSent`, as Unix seconds (0: none yet).
    private let removedBefore = Lock<Int64>(0)

    init(directory: String) throws(StoreError) {
        self.directory = directory
        try FileSystem.makeDurableDirectory(directory)
        for folder in Folder.allCases { try FileSystem.makeDurableDirectory(directory + "/" + folder.rawValue) }
        try FileSystem.makeDurableDirectory(scratch)
        for name in FileSystem.listDirectory(scratch) {
            let pid = name.split(separator: ".").dropFirst().first.flatMap { Int32($0) }
            if FileSystem.writerIsGone(pid) { unlink(scratch + "/" + name) }
        }
        let mark = (try? FileSystem.read(removedBeforePath)).flatMap { $0 }.flatMap { Int64(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) }
        removedBefore.withLock { $0 = mark ?? 0 }
    }

    private var removedBeforePath: String { directory + "/sent/removed-before" }

    var removedBeforeSeconds: Int64 { removedBefore.withLock { $0 } }

    /// The longest `webhook_give_up_hours`: an event is filed (sent or failed) at most this long after its creation.
    static let longestGiveUpSeconds: Int64 = 720 * 3600

    private var scratch: String { directory + "/tmp" }

    private static let writes = Atomic<Int>(0)

    /// Where an event is written in `folder`.
    func path(_ id: String, _ folder: Folder) -> String {
        folder == .sent ? shardFolder(id) + "/" + id + ".json" : directory + "/" + folder.rawValue + "/" + id + ".json"
    }

    /// `sent/<first three hex digits of the key>`.
    private func shardFolder(_ id: String) -> String {
        let key = id.hasPrefix("payout-") ? id.dropFirst("payout-".count) : Substring(id)
        return directory + "/sent/" + key.prefix(3)
    }

    /// Where an earlier version filed a sent event: `sent/<id>.json`, unsharded.
    private func flatSentPath(_ id: String) -> String { directory + "/sent/" + id + ".json" }

    /// Every place an event can be in, folder by folder.
    private func places(_ id: String) -> [(Folder, String)] {
        [(.pending, path(id, .pending)), (.sent, path(id, .sent)), (.sent, flatSentPath(id)), (.failed, path(id, .failed))]
    }

    /// Where the event is now, if anywhere.
    public func find(_ id: String) -> Folder? {
        place(id)?.0
    }

    private func place(_ id: String) -> (Folder, String)? {
        places(id).first { FileSystem.exists($0.1) }
    }

    /// Adds the event to `pending`, unless it is already somewhere in the outbox. `sync`: durable before this
    /// returns (an event no journal record can make again).
    ///
    /// An event created more than the longest give-up period before the last retention cutoff is not made again:
    /// it was filed long ago, and if it was sent, removed since. Only a recovery reading an old stretch of the
    /// journal (a damaged checkpoint) raises one, and it would be sent a second time.
    func create(_ event: OutboxEvent, sync: Bool = false) throws(StoreError) {
        guard find(event.id) == nil else { return }
        guard event.createdAt.seconds + Self.longestGiveUpSeconds >= removedBefore.withLock({ $0 }) else { return }
        try save(event, in: .pending, sync: sync)
        created.add(event.id)
    }

    /// Writes the event into `folder` (replacing its file there) and removes it from every other place.
    @discardableResult
    public func save(_ event: OutboxEvent, in folder: Folder) throws(StoreError) -> OutboxStamp {
        try save(event, in: folder, sync: false)
    }

    @discardableResult
    func save(_ event: OutboxEvent, in folder: Folder, sync: Bool) throws(StoreError) -> OutboxStamp {
        let final = path(event.id, folder)
        let parent = (final as NSString).deletingLastPathComponent
        if folder == .sent { try FileSystem.makeDurableDirectory(parent) }
        let write = Self.writes.add(1, ordering: .relaxed).newValue
        let temporary = scratch + "/" + event.id + ".\(getpid()).\(write)"
        let bytes = JSONBytes.encode(event) + [UInt8(ascii: "\n")]
        try FileSystem.writeNewFile(temporary, bytes, sync: sync)
        var info = stat()
        let stamp: OutboxStamp = stat(temporary, &info) == 0 ? OutboxStamp(info.st_ino) : 0
        try FileSystem.rename(temporary, final)
        if sync { try FileSystem.syncDirectory(parent) }
        for (_, other) in places(event.id) where other != final { unlink(other) }
        return stamp
    }

    public func load(_ id: String) throws(StoreError) -> (event: OutboxEvent, folder: Folder)? {
        guard let (folder, path) = place(id), let bytes = try FileSystem.read(path) else { return nil }
        return (try decode(bytes, path: path), folder)
    }

    private func decode(_ bytes: [UInt8], path: String) throws(StoreError) -> OutboxEvent {
        do {
            return try JSONDecoder().decode(OutboxEvent.self, from: Data(bytes))
        } catch {
            throw .damaged(path: path, reason: "not a valid event: \(error)")
        }
    }

    /// Event ids in a folder, in order: by order, then by the revision that raised them.
    public func ids(in folder: Folder) -> [String] {
        let top = directory + "/" + folder.rawValue
        var names = FileSystem.listDirectory(top).filter { $0.hasSuffix(".json") }
        if folder == .sent {
            for shard in FileSystem.listDirectory(top) where Self.isShard(shard) {
                names += FileSystem.listDirectory(top + "/" + shard).filter { $0.hasSuffix(".json") }
            }
        }
        return Set(names.map { String($0.dropLast(5)) }).sorted()
    }

    private static func isShard(_ name: String) -> Bool {
        name.utf8.count == 3 && name.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// One `readdir` of `pending/`: names with their inode numbers, no event read.
    public func pendingStamps() -> [String: OutboxStamp] {
        guard let folder = opendir(directory + "/pending") else { return [:] }
        defer { closedir(folder) }
        var stamps: [String: OutboxStamp] = [:]
        while let entry = readdir(folder) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) { String(cString: $0) }
            }
            guard name.hasSuffix(".json") else { continue }
            stamps[String(name.dropLast(5))] = OutboxStamp(entry.pointee.d_ino)
        }
        return stamps
    }

    public func takeNewlyCreated() -> [String] { created.take() }

    /// `outbox/courier.lock` (an exclusive `flock`), so that only one process delivers events at a time when
    /// several share the data folder; nil at once when another holder has it.
    public func leaseDeliveryLock() throws(StoreError) -> (any OutboxLease)? {
        try FileLock.acquire(directory + "/courier.lock", blocking: false, shared: false).map(HeldLock.init)
    }

    public func withEventLock<Result>(_ body: () throws(StoreError) -> Result) throws(StoreError) -> Result {
        try FileLock.withLock(directory + "/events.lock", body)
    }

    // MARK: - Retention

    /// Removes what was filed in `sent` before `cutoff`, and moves an earlier version's flat `sent/<id>.json` that
    /// it keeps into its shard. A file's time says which ones may be old enough, without reading the others; the
    /// event's own times decide (its last `delivered_at`, else its `created_at`), so a file whose time was
    /// changed (a copy, a restore) is never removed early.
    public func removeSent(filedBefore cutoff: Timestamp, while keepGoing: () -> Bool) -> OutboxSweep {
        var sweep = OutboxSweep()
        let top = directory + "/sent"
        // Written before any removal, so that no event removed is ever made again by `create`.
        if cutoff.seconds > removedBefore.withLock({ $0 }) {
            let temporary = scratch + "/removed-before.\(getpid()).\(Self.writes.add(1, ordering: .relaxed).newValue)"
            do {
                try FileSystem.replaceDurably(removedBeforePath, with: Array("\(cutoff.seconds)\n".utf8), via: temporary)
                removedBefore.withLock { $0 = cutoff.seconds }
            } catch {
                sweep.problems.append("\(error)")
                return sweep
            }
        }
        for name in FileSystem.listDirectory(top).sorted() {
            guard keepGoing() else { break }
            if name.hasSuffix(".json") {
                let id = String(name.dropLast(5))
                if sweepFile(top + "/" + name, cutoff, &sweep) { moveIntoShard(id, &sweep) }
            } else if Self.isShard(name) {
                for file in FileSystem.listDirectory(top + "/" + name).sorted() where file.hasSuffix(".json") && keepGoing() {
                    sweepFile(top + "/" + name + "/" + file, cutoff, &sweep)
                }
            }
        }
        return sweep
    }

    /// Removes the file if it was filed before `cutoff`; true when it is kept.
    @discardableResult
    private func sweepFile(_ path: String, _ cutoff: Timestamp, _ sweep: inout OutboxSweep) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }  // moved or removed meanwhile
        guard Int64(info.st_mtim.tv_sec) < cutoff.seconds else {
            sweep.kept += 1
            return true
        }
        do {
            guard let bytes = try FileSystem.read(path) else { return false }
            let event = try decode(bytes, path: path)
            let filedAt = event.deliveries.compactMap(\.deliveredAt).max() ?? event.createdAt
            guard filedAt < cutoff else {
                sweep.kept += 1
                return true
            }
            guard unlink(path) == 0 || errno == ENOENT else {
                throw StoreError.unavailable("cannot remove \(path): \(FileSystem.errorText())")
            }
            sweep.removed += 1
            return false
        } catch {
            sweep.kept += 1
            if sweep.problems.count < 10 { sweep.problems.append("\(error)") }
            return true
        }
    }

    private func moveIntoShard(_ id: String, _ sweep: inout OutboxSweep) {
        let flat = flatSentPath(id), sharded = path(id, .sent)
        do {
            try FileSystem.makeDurableDirectory((sharded as NSString).deletingLastPathComponent)
            if FileSystem.exists(sharded) {
                unlink(flat)  // filed again by this version since: the shard's copy is the newer
            } else {
                try FileSystem.rename(flat, sharded)
            }
        } catch {
            if sweep.problems.count < 10 { sweep.problems.append("\(error)") }
        }
    }
}

/// The ids `create` added, until the courier takes them: between two listings of `pending`, it learns of this
/// process's new events without reading the folder.
private final class CreatedFeed: Sendable {
    /// Beyond this many untaken ids (no courier is taking them), the oldest are dropped: a listing finds them.
    private static let limit = 10_000
    private let ids = Lock<[String]>([])

    func add(_ id: String) {
        ids.withLock {
            if $0.count >= Self.limit { $0.removeFirst($0.count / 2) }
            $0.append(id)
        }
    }

    func take() -> [String] { ids.withLock { ids in defer { ids = [] }; return ids } }
}

/// `outbox/courier.lock`, held through an open file description until released.
private final class HeldLock: OutboxLease, @unchecked Sendable {
    private let descriptor: Lock<Int32?>

    init(_ descriptor: Int32) { self.descriptor = Lock(descriptor) }

    func release() {
        descriptor.withLock {
            if let fd = $0 { close(fd) }
            $0 = nil
        }
    }

    deinit { release() }
}
