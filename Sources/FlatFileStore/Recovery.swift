import Foundation
import Logging
import OrderStorage
import Payments

/// What a recovery pass found and did.
public struct RecoveryReport: Sendable {
    /// Journal records read since the last checkpoint.
    public var recordsScanned = 0
    /// Of those, the records decoded and redone (all of them in a thorough pass).
    public var recordsRedone = 0
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
    /// Journal segments this pass started (the current one had passed `journal_segment_mb`) and closed.
    public var segmentsStarted = 0
    public var segmentsClosed: [Int] = []
    /// Orders in the dashboard's index after its compaction (done when a segment closed), if it was compacted.
    public var indexCompactedTo: Int?
}

extension FlatFileStore {
    /// Brings every order file up to the journal: for each order changed since the last checkpoint, a file
    /// older than its latest journal record (or missing, or damaged) is rewritten from that record. Then the
    /// checkpoint moves to the end of the journal. Safe to run while other processes serve: each order is
    /// locked while it is checked, and writers hold that lock from their journal record to the end of their
    /// change. Returns nil when another process is already recovering.
    ///
    /// `thorough` (at start) also remakes every change's webhook event and index line, in case its writer
    /// died before making them. The regular checkpoint skips that for the changes of writers still alive:
    /// holding the order's lock after them, it knows they finished, and a writer that could not make them
    /// journals the change again, marked `unfinished`. That pass reads most records without decoding them (a
    /// busy minute is 200,000 of them).
    @discardableResult
    public func recover(thorough: Bool = true, logger: Logger = Logger(label: "cross.recovery")) throws(StoreError) -> RecoveryReport? {
        try FileLock.withLockIfFree(journalFolder.recoveryLockPath) { () throws(StoreError) -> RecoveryReport in
            let owed = owesThoroughPass.withLock { $0 }
            var report = RecoveryReport()
            try recoverHoldingLock(thorough: thorough || owed, into: &report, logger: logger)
            // The current segment passed its size: a new one starts, and a second (short) pass reads what was
            // appended to the old one meanwhile, so that the checkpoint passes its end and it closes now.
            let current = journalFolder.presentSegments().last ?? journal.currentSegment
            if report.incomplete == nil, let size = journalFolder.size(current), size >= journalSettings.segmentBytes,
               journalFolder.readCheckpoint()?.segment == current {
                try Journal.startSegment(after: current, in: journalFolder)
                report.segmentsStarted += 1
                logger.info("journal segment started", metadata: [
                    "segment": "\(JournalFolder.segmentName(current + 1))", "previous_bytes": "\(size)",
                ])
                try recoverHoldingLock(thorough: thorough || owed, into: &report, logger: logger)
            }
            if report.incomplete == nil { try closeSegments(into: &report, logger: logger) }
            if owed && report.incomplete == nil { owesThoroughPass.withLock { $0 = false } }
            return report
        }
    }

    /// Where a pass starts: the checkpoint, or without one (none yet, or damaged) the first segment not closed.
    private func startOfPass() throws(StoreError) -> Checkpoint {
        if let checkpoint = journalFolder.readCheckpoint() { return checkpoint }
        let manifest = try journalFolder.readManifest()
        let firstOpen = journalFolder.presentSegments().first { manifest.entry($0) == nil }
        return Checkpoint(segment: firstOpen ?? journalFolder.presentSegments().last ?? journal.currentSegment, offset: 0, at: .now())
    }

    private func recoverHoldingLock(thorough: Bool, into total: inout RecoveryReport, logger: Logger) throws(StoreError) {
        var report = total
        defer { total = report }
        let start = try startOfPass()
        var restored = Set<OrderKey>()
        // Index lines go out in batches as the journal is read: nothing grows with the journal's length (a
        // pass once held every changed order until the end: 260 MB after a busy minute).
        var changed: [Order] = []
        // Events and index lines that cannot be written (a full disk) do not stop the pass: the order files
        // matter most, and Cross must be able to start and answer 503 on a full disk. The checkpoint then stays
        // where it is, so that the next pass makes them.
        var unfinished: StoreError?
        func appendIndexLines() {
            guard !changed.isEmpty else { return }
            // The index lines of these changes may be missing; a line again is harmless (latest revision wins).
            do throws(StoreError) {
                try index.append(changed)
            } catch {
                unfinished = unfinished ?? error
            }
            changed.removeAll(keepingCapacity: true)
        }
        /// Everything a change needs, from its decoded record: its event, its file, its index line.
        func redo(_ record: JournalRecord) throws(StoreError) {
            guard let order = record.order else { return }
            // An event raised by a change whose process died before writing it: raised again, same id.
            if let webhook = record.webhook {
                do throws(StoreError) {
                    try files.create(OutboxEvent(id: OutboxEvent.id(order.key, revision: order.revision), type: webhook, createdAt: record.at, order: order))
                } catch {
                    unfinished = unfinished ?? error
                }
            }
            // Record by record, in journal order: a file is only ever moved forward, so an order changed twice
            // since the checkpoint ends at its latest revision.
            if try restoreIfBehind(order.key, order, logger: logger), restored.insert(order.key).inserted {
                report.ordersRestored.append(order.key)
            }
            changed.append(order)
            if changed.count >= 256 { appendIndexLines() }
        }
        let decoder = JSONDecoder()
        var damaged: [Int64] = []
        var damagedAt: [(segment: Int, offset: Int64)] = []
        // Every segment from the checkpoint's to the newest, which must all be there (a segment moved away while
        // Cross runs is refused here as at start).
        let segments = journalFolder.presentSegments().filter { $0 >= start.segment }
        guard segments.first == start.segment, segments.last.map({ $0 - start.segment + 1 }) == segments.count else {
            try journalFolder.check()
            throw .unavailable("the journal's segments from \(JournalFolder.segmentName(start.segment)) on are not all there: \(segments.map(JournalFolder.segmentName))")
        }
        var end = start.offset
        for segment in segments {
        let (cut, segmentEnd) = try Journal.scanLines(path: journalFolder.segmentPath(segment), from: segment == start.segment ? start.offset : 0) { offset, line throws(StoreError) in
            // Taking the order's lock waits for a writer still at work on this change.
            if !thorough, let change = JournalLine(line), change.writerFinished,
               try withOrderLock(change.key, { () throws(StoreError) -> Bool in isUpToDate(change) }) {
                report.recordsScanned += 1
                return
            }
            guard let record = Journal.decode(line, with: decoder) else {
                damaged.append(offset)
                return
            }
            report.recordsScanned += 1
            report.recordsRedone += 1
            try redo(record)
        }
        for offset in damaged + cut { damagedAt.append((segment, offset)) }
        damaged.removeAll()
        end = segmentEnd
        }
        appendIndexLines()
        report.damagedLines += damagedAt.map(\.offset)
        for (segment, offset) in damagedAt {
            logger.warning("journal line skipped: it does not parse (a write cut short by a crash?)", metadata: [
                "journal": "\(journalFolder.segmentPath(segment))", "offset": "\(offset)",
            ])
        }
        if let unfinished {
            report.incomplete = "\(unfinished)"
            logger.error("recovery incomplete: order files are up to date, webhook events or index lines are not; the next pass tries again", metadata: [
                "error": "\(unfinished)",
            ])
            return
        }
        // Every change journaled before `end` is now in its order file (its writer held the order's lock until
        // its rename, and this pass took each lock after): once the files are on disk, the journal up to
        // `end` is no longer needed to rebuild them.
        if report.recordsScanned > 0 { try FileSystem.syncFilesystem(directory) }
        do {
            try journalFolder.writeCheckpoint(Checkpoint(segment: segments.last!, offset: end, at: .now()))
        } catch {
            // A checkpoint left behind costs the next pass a longer read, nothing else.
            report.incomplete = "\(error)"
            logger.error("checkpoint not moved", metadata: ["error": "\(error)"])
        }
    }

    /// Whether the order's file holds the change or a later one. Nearly always the file is exactly the
    /// record's order, compared as bytes; else (a later change, or a damaged file) it is decoded.
    private func isUpToDate(_ change: JournalLine) -> Bool {
        let path = path(for: change.key)
        guard let file = try? FileSystem.read(path) else { return false }
        if file.count == change.order.count + 1 && file.starts(with: change.order) { return true }
        guard let current = try? decode(file, path: path) else { return false }
        return current.revision >= change.revision
    }

    /// Rewrites the order from the snapshot when its file is missing, damaged, or at an older revision.
    private func restoreIfBehind(_ key: OrderKey, _ snapshot: Order, logger: Logger) throws(StoreError) -> Bool {
        try withOrderLock(key) { () throws(StoreError) -> Bool in
            try restoreHoldingLock(key, snapshot, logger: logger)
        }
    }

    private func restoreHoldingLock(_ key: OrderKey, _ snapshot: Order, logger: Logger) throws(StoreError) -> Bool {
        let path = path(for: key)
        let bytes = JSONBytes.encode(snapshot) + [UInt8(ascii: "\n")]
        let current: Order?
        var damage: String?
        do {
            let file = try FileSystem.read(path)
            // Nearly always the file holds exactly the record's order, byte for byte: no need to decode it.
            if file == bytes { return false }
            current = try file.map { bytes throws(StoreError) in try decode(bytes, path: path) }
        } catch {
            current = nil
            damage = "\(error)"
        }
        if let current, current.revision >= snapshot.revision { return false }
        try FileSystem.makeDurableDirectory(directory + "/orders/" + key.hex.prefix(3))
        try FileSystem.replaceDurably(path, with: bytes, via: path + ".tmp.recovery.\(getpid())")
        logger.warning("order restored from the journal", metadata: [
            "ref": "\(snapshot.ref)", "order": "\(key)", "revision": "\(snapshot.revision)",
            "file_revision": "\(current.map { String($0.revision) } ?? (damage == nil ? "missing" : "damaged"))",
            "status": "\(snapshot.status.rawValue)",
        ])
        return true
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
                    if FileSystem.writerIsGone(pid) {
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

/// What the regular checkpoint needs from a change's journal line, found in its bytes without decoding it.
/// The journal is written by `JSONBytes` alone, whose JSON has no spaces and escapes every `"` inside a
/// string, so that `"name":` can only be a key; the record's own keys are found before or after its one
/// nested order, whose keys are known. Anything unexpected makes `init` fail, and the line is decoded.
struct JournalLine {
    let key: OrderKey
    let revision: Int
    let pid: Int32
    let unfinished: Bool
    /// The order's JSON, exactly as its file holds it (without the file's final line break).
    let order: ArraySlice<UInt8>

    init?(_ line: ArraySlice<UInt8>) {
        guard let start = Self.find(Array(#""order":{"#.utf8), in: line).map({ $0 - 1 }),
              let end = Self.endOfObject(line, from: start),
              let pid = Self.integer(after: #""pid":"#, in: line[end...]).flatMap({ Int32(exactly: $0) }),
              let revision = Self.integer(after: #""revision":"#, in: line[end...]),
              let hex = Self.find(Array(#""key":""#.utf8), in: line[..<start]),
              hex + 32 <= start, let key = OrderKey(hex: String(decoding: line[hex..<hex + 32], as: UTF8.self))
        else { return nil }
        self.key = key
        self.revision = revision
        self.pid = pid
        unfinished = Self.find(Array(#""unfinished":true"#.utf8), in: line[end...]) != nil
        order = line[start..<end]
    }

    /// A change that its writer finished: written by a process still running (this one, or another serving
    /// the same data folder) and not journaled again as unfinished.
    var writerFinished: Bool {
        !unfinished && (pid == FlatFileStore.processID || kill(pid, 0) == 0 || errno == EPERM)
    }

    /// The index just after the first occurrence of `pattern`.
    static func find(_ pattern: [UInt8], in bytes: ArraySlice<UInt8>) -> Int? {
        guard let first = pattern.first, bytes.count >= pattern.count else { return nil }
        var index = bytes.startIndex
        let last = bytes.endIndex - pattern.count
        while index <= last {
            guard let candidate = bytes[index...last].firstIndex(of: first) else { return nil }
            if bytes[candidate..<candidate + pattern.count].elementsEqual(pattern) { return candidate + pattern.count }
            index = candidate + 1
        }
        return nil
    }

    private static func integer(after key: String, in bytes: ArraySlice<UInt8>) -> Int? {
        guard var index = key.isEmpty ? bytes.startIndex : find(Array(key.utf8), in: bytes) else { return nil }
        var value = 0
        let digitsStart = index
        while index < bytes.endIndex, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            // More than 18 digits is no number Cross wrote: the line is decoded instead (found by fuzz/FuzzJournalLine).
            guard index - digitsStart < 18 else { return nil }
            value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        return index > digitsStart ? value : nil
    }

    /// The index after the `}` that closes the object opening at `start`, skipping strings.
    private static func endOfObject(_ bytes: ArraySlice<UInt8>, from start: Int) -> Int? {
        var depth = 0
        var index = start
        var inString = false
        while index < bytes.endIndex {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") { index += 1 } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                depth += 1
            } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                depth -= 1
                if depth == 0 { return index + 1 }
            }
            index += 1
        }
        return nil
    }
}
