import Foundation
import Logging
import Payments

/// What a recovery pass found and did.
public struct RecoveryReport: Sendable {
    /// Journal records read since the last checkpoint.
    public var recordsScanned = 0
    /// Orders whose file lacked the journal's latest change, and got it.
    public var ordersRestored: [OrderKey] = []
    /// Byte offsets of journal lines that did not parse (a torn last line after a crash).
    public var damagedLines: [Int64] = []
    /// Order files that do not parse and that the journal could not restore: left for an operator.
    public var damagedFiles: [String] = []
    /// Leftover temporary files of writes that never finished, removed.
    public var temporaryFilesRemoved = 0
    /// Why webhook events or index lines could not all be made (a full disk): the order files are up to date,
    /// the checkpoint did not move, and the next pass tries again.
    public var incomplete: String?
}

extension OrderStore {
    private var checkpointPath: String { directory + "/journal/checkpoint.json" }

    private struct Checkpoint: Codable {
        let offset: Int64
        let at: Timestamp
    }

    /// Brings every order file up to the journal: for each order changed since the last checkpoint, a file
    /// older than its latest journal record (or missing, or damaged) is rewritten from that record. Then the
    /// checkpoint moves to the end of the journal. Safe to run while other processes serve: each order is
    /// locked while it is checked, and writers hold that lock from their journal record to their rename.
    /// Returns nil when another process is already recovering.
    @discardableResult
    public func recover(logger: Logger = Logger(label: "cross.recovery")) throws(StoreError) -> RecoveryReport? {
        try FileLock.withLockIfFree(directory + "/journal/recovery.lock") { () throws(StoreError) -> RecoveryReport in
            try recoverHoldingLock(logger: logger)
        }
    }

    private func recoverHoldingLock(logger: Logger) throws(StoreError) -> RecoveryReport {
        var report = RecoveryReport()
        let start = try readCheckpoint()
        var latest: [OrderKey: Order] = [:]
        // Events and index lines that cannot be written (a full disk) do not stop the pass: the order files
        // matter most, and Cross must be able to start and answer 503 on a full disk. The checkpoint then stays
        // where it is, so that the next pass makes them.
        var unfinished: StoreError?
        let (damaged, end) = try Journal.scan(path: journalPath, from: start) { _, record throws(StoreError) in
            report.recordsScanned += 1
            guard let order = record.order else { return }
            // An event raised by a change whose process died before writing it: raised again, same id.
            if let event = record.event {
                do throws(StoreError) {
                    try outbox.create(OutboxEvent(id: Outbox.eventID(order.key, revision: order.revision), type: event, createdAt: record.at, order: order))
                } catch {
                    unfinished = unfinished ?? error
                }
            }
            if let known = latest[order.key], known.revision >= order.revision { return }
            latest[order.key] = order
        }
        report.damagedLines = damaged
        for offset in damaged {
            logger.warning("journal line skipped: it does not parse (a write cut short by a crash?)", metadata: [
                "journal": "\(journalPath)", "offset": "\(offset)",
            ])
        }
        for (key, snapshot) in latest.sorted(by: { $0.key < $1.key }) {
            if try restoreIfBehind(key, snapshot, logger: logger) { report.ordersRestored.append(key) }
        }
        // The index lines of those changes may be missing too; a line again is harmless (latest revision wins).
        do {
            try index.append(latest.values.sorted { $0.key < $1.key })
        } catch {
            unfinished = unfinished ?? error
        }
        if let unfinished {
            report.incomplete = "\(unfinished)"
            logger.error("recovery incomplete: order files are up to date, webhook events or index lines are not; the next pass tries again", metadata: [
                "error": "\(unfinished)",
            ])
            return report
        }
        // Every change journaled before `end` is now in its order file (its writer held the order's lock until
        // its rename, and this pass took each lock after): once the files are on disk, the journal up to
        // `end` is no longer needed to rebuild them.
        if report.recordsScanned > 0 { try FileSystem.syncFilesystem(directory) }
        do {
            try writeCheckpoint(Checkpoint(offset: end, at: .now()))
        } catch {
            // A checkpoint left behind costs the next pass a longer read, nothing else.
            report.incomplete = "\(error)"
            logger.error("checkpoint not moved", metadata: ["error": "\(error)"])
        }
        return report
    }

    /// Rewrites the order from the snapshot when its file is missing, damaged, or at an older revision.
    private func restoreIfBehind(_ key: OrderKey, _ snapshot: Order, logger: Logger) throws(StoreError) -> Bool {
        try withOrderLock(key) { () throws(StoreError) -> Bool in
            try restoreHoldingLock(key, snapshot, logger: logger)
        }
    }

    private func restoreHoldingLock(_ key: OrderKey, _ snapshot: Order, logger: Logger) throws(StoreError) -> Bool {
        let current: Order?
        var damage: String?
        do {
            current = try load(key)
        } catch {
            current = nil
            damage = "\(error)"
        }
        if let current, current.revision >= snapshot.revision { return false }
        try FileSystem.makeDurableDirectory(directory + "/orders/" + key.hex.prefix(3))
        let path = path(for: key)
        let temporary = path + ".tmp.recovery.\(getpid())"
        let bytes = Self.encode(snapshot) + [UInt8(ascii: "\n")]
        unlink(temporary)
        try FileSystem.writeNewFile(temporary, bytes)
        try FileSystem.rename(temporary, path)
        try FileSystem.syncDirectory(directory + "/orders/" + key.hex.prefix(3))
        logger.warning("order restored from the journal", metadata: [
            "ref": "\(snapshot.ref)", "order": "\(key)", "revision": "\(snapshot.revision)",
            "file_revision": "\(current.map { String($0.revision) } ?? (damage == nil ? "missing" : "damaged"))",
            "status": "\(snapshot.status.rawValue)",
        ])
        return true
    }

    private func readCheckpoint() throws(StoreError) -> Int64 {
        guard let bytes = try FileSystem.read(checkpointPath) else { return 0 }
        guard let checkpoint = try? JSONDecoder().decode(Checkpoint.self, from: Data(bytes)) else {
            // A damaged checkpoint costs a longer scan, never a lost change.
            return 0
        }
        return checkpoint.offset
    }

    private func writeCheckpoint(_ checkpoint: Checkpoint) throws(StoreError) {
        let temporary = checkpointPath + ".tmp.\(getpid())"
        unlink(temporary)
        let bytes: [UInt8]
        do { bytes = Array(try JSONEncoder().encode(checkpoint)) } catch { throw .unavailable("\(error)") }
        try FileSystem.writeNewFile(temporary, bytes)
        try FileSystem.rename(temporary, checkpointPath)
        try FileSystem.syncDirectory(directory + "/journal")
    }

    /// Reads every order file: damaged ones are reported (and left alone), temporary files of writes that a
    /// crash interrupted are removed. Meant to run once at start, in the background.
    public func sweep(logger: Logger = Logger(label: "cross.recovery")) -> RecoveryReport {
        var report = RecoveryReport()
        let orders = directory + "/orders"
        for shard in FileSystem.listDirectory(orders) {
            let folder = orders + "/" + shard
            for file in FileSystem.listDirectory(folder) {
                let path = folder + "/" + file
                if file.contains(".tmp.") {
                    // `<key>.json.tmp.<pid>.<revision>`: only a process that is gone cannot finish it.
                    let pid = file.split(separator: ".").dropFirst(3).first.flatMap { Int32($0) }
                    if pid.map({ kill($0, 0) != 0 && errno == ESRCH }) ?? true {
                        unlink(path)
                        report.temporaryFilesRemoved += 1
                    }
                    continue
                }
                guard file.hasSuffix(".json") else { continue }
                do {
                    _ = try FileSystem.read(path).map { try JSONDecoder().decode(Order.self, from: Data($0)) }
                } catch {
                    report.damagedFiles.append(path)
                    logger.critical("order file damaged: it does not parse and is left as it is; see `cross orders show`", metadata: [
                        "path": "\(path)", "error": "\(Self.brief(error))",
                    ])
                }
            }
        }
        return report
    }
}
