import Foundation
import Logging
import OrderStorage
import Payments

/// Final orders moved out of the live folders, under the data folder:
///
///     archive/<date>/<shard>/<key>.json    orders last changed before <date> (`cross orders archive --before`)
///
/// The live folders are what the start-up sweep, `cross orders list` and every scan read: an archive keeps them
/// as large as the orders still moving. Nothing is ever removed: an archived order is read where it lies (by
/// `load`, hence by `cross orders show`, the dashboard, a late notification), and a change to it (a refund, a
/// payment that comes after all) writes it back into the live folder and removes the archived copy.
extension FlatFileStore {
    public struct ArchiveReport: Sendable {
        public var folder: String
        public var archived: [Order] = []
        /// Orders old enough but not final yet (pending, in review, an attempt or a refund still open).
        public var kept = 0
    }

    var archiveRoot: String { directory + "/archive" }

    /// The dated folders of the archive, newest first.
    func archiveFolders() -> [String] { Self.archiveFolders(in: directory) }

    static func archiveFolders(in directory: String) -> [String] {
        let root = directory + "/archive"
        return FileSystem.listDirectory(root).filter { !$0.hasPrefix(".") }.sorted(by: >).map { root + "/" + $0 }
    }

    /// Where an archived order lies, if it does.
    func archivedPath(for key: OrderKey) -> String? { Self.archivedPath(in: directory, key) }

    /// Where an archived order of the data folder `directory` lies, if it does (also for `cross journal verify`,
    /// which reads a data folder without opening a store).
    static func archivedPath(in directory: String, _ key: OrderKey) -> String? {
        // Most lookups that miss the live folder are new orders: one stat tells that there is no archive at all.
        guard FileSystem.exists(directory + "/archive") else { return nil }
        for folder in archiveFolders(in: directory) {
            let path = folder + "/" + key.hex.prefix(3) + "/" + key.hex + ".json"
            if FileSystem.exists(path) { return path }
        }
        return nil
    }

    /// The file that holds the order now: in the live folder, else in the archive.
    public func location(of key: OrderKey) -> String? {
        FileSystem.exists(path(for: key)) ? path(for: key) : archivedPath(for: key)
    }

    /// Whether an order may leave the live folders: nothing can change it any more but a late operator call or a
    /// merchant's refund, both of which bring it back.
    static func isArchivable(_ order: Order, before cutoff: Timestamp) -> Bool {
        guard [.paid, .cancelled, .declined, .expired].contains(order.status) else { return false }
        guard order.updatedAt < cutoff, order.expiresAt < cutoff else { return false }
        guard order.attempts.allSatisfy({ $0.method != .push || $0.isSettled(in: order) }) else { return false }
        return !order.refunds.contains { $0.status == .pending }
    }

    /// Moves every archivable order last changed before `before` into `archive/<date of before>/`. A checkpoint
    /// comes first, so that no journal record after it concerns a moved order (recovery would write it back
    /// into the live folder; harmless, but the move would be undone). Each move holds the order's lock: the
    /// copy is written and synced, then the live file removed, so a crash leaves the order in one place or both
    /// (the live one wins, and the next run finishes the move).
    public func archive(before: Timestamp, now: Timestamp, dryRun: Bool = false, logger: Logger = Logger(label: "cross.archive")) throws(StoreError) -> ArchiveReport {
        guard before <= now else { throw .unavailable("the date must not be in the future") }
        _ = try recover(thorough: false, logger: logger)
        let name = String(before.iso8601.prefix(10))
        var report = ArchiveReport(folder: archiveRoot + "/" + name)
        try FileSystem.makeDurableDirectory(archiveRoot)
        try FileSystem.makeDurableDirectory(report.folder)
        let orders = directory + "/orders"
        for shard in FileSystem.listDirectory(orders).sorted() {
            for file in FileSystem.listDirectory(orders + "/" + shard).sorted() where file.hasSuffix(".json") {
                guard let key = OrderKey(hex: String(file.dropLast(5))) else { continue }
                let moved = try withOrderLock(key) { () throws(StoreError) -> Order? in
                    guard let order = try decode(at: path(for: key)) else { return nil }
                    guard Self.isArchivable(order, before: before) else {
                        if order.updatedAt < before { report.kept += 1 }
                        return nil
                    }
                    if dryRun { return order }
                    let folder = report.folder + "/" + shard
                    try FileSystem.makeDurableDirectory(folder)
                    let archived = folder + "/" + file
                    try FileSystem.replaceDurably(archived, with: JSONBytes.encode(order) + [UInt8(ascii: "\n")], via: archived + ".tmp.\(getpid())")
                    // An older copy in another dated folder (moved back, then archived again) is out of date.
                    for other in archiveFolders() where other != report.folder {
                        unlink(other + "/" + shard + "/" + file)
                    }
                    guard unlink(path(for: key)) == 0 else {
                        throw .unavailable("cannot remove \(path(for: key)) after archiving it: \(FileSystem.errorText())")
                    }
                    try FileSystem.syncDirectory(orders + "/" + shard)
                    return order
                }
                if let moved {
                    report.archived.append(moved)
                    if !dryRun { logger.info("order archived", metadata: ["order": "\(moved.key)", "status": "\(moved.status.rawValue)", "folder": "\(name)"]) }
                }
            }
        }
        return report
    }

    /// Every archived order file (for `cross index rebuild` and `cross orders list --archived`).
    public func archivedOrders() -> [Swift.Result<Order, StoreError>] {
        var results: [Swift.Result<Order, StoreError>] = []
        var seen = Set<String>()
        for folder in archiveFolders() {
            for shard in FileSystem.listDirectory(folder).sorted() {
                for file in FileSystem.listDirectory(folder + "/" + shard).sorted() where file.hasSuffix(".json") {
                    guard seen.insert(file).inserted else { continue }
                    // Moved back and changed since: the live file is the order.
                    guard !FileSystem.exists(directory + "/orders/" + shard + "/" + file) else { continue }
                    if let result = read(folder + "/" + shard + "/" + file) { results.append(result) }
                }
            }
        }
        return results
    }
}
